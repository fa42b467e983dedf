import { torchExportFiles } from '../../src/engine/export/torch/torchExport.ts';
import { parseAppExperiment } from '../../src/urlState/appExperiment.ts';
import { ensureBackend } from './backendSession.ts';
import { freshModel } from './buildModel.ts';
import { encoderInit } from './preparedModel.ts';
import { loadRunData } from './runData.ts';
import { folderZip } from './folderZip.ts';
import { getRun } from './runStore.ts';
import { loadShard } from './shardAccess.ts';
import type { ModelFrom } from './types.ts';

/**
 * The PyTorch trainer's files (train.py and its package), bundled with the worker: the same template folder
 * `taskscope export-torch` reads from disk, so the page's export and the CLI's are one trainer.
 */
const TEMPLATE_FILES = import.meta.glob('../../src/engine/export/torch/template/**/*.py', { query: '?raw', import: 'default', eager: true }) as Record<
  string,
  string
>;
const TEMPLATE_ROOT = '../../src/engine/export/torch/template/';

export function torchTemplate(): Map<string, string> {
  return new Map(
    Object.entries(TEMPLATE_FILES)
      .map(([path, text]) => [path.slice(TEMPLATE_ROOT.length), text] as const)
      .sort(([a], [b]) => a.localeCompare(b)),
  );
}

/**
 * A stored run's experiment as an export-torch folder, zipped: the run's own training and dev rows (its token
 * shards, so tokenization is Taskscope's) and its starting weights (`from`: the model the run started from;
 * a random-init run's seed gives the same initial weights), for `torchrun … train.py` elsewhere.
 */
export async function exportTorchRun(id: string, from: ModelFrom): Promise<{ fileName: string; zip: Uint8Array; files: number }> {
  const record = await getRun(id);
  if (!record) throw new Error(`no run ${id} in this browser's storage`);
  const exp = parseAppExperiment(record.experiment, `run ${id}`);
  await ensureBackend(exp.backend);
  const data = await loadRunData(exp, record.data, loadShard);
  const { init, vocabText, doLowerCase } = await encoderInit(exp, from);
  const model = freshModel(exp, init);
  try {
    const files = await torchExportFiles({ experiment: exp, model, data, vocabText, doLowerCase, template: torchTemplate() });
    return folderZip(`${record.name}-${record.id}-torch`, files, { files: files.size });
  } finally {
    model.dispose();
  }
}
