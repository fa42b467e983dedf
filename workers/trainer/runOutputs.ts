import * as Comlink from 'comlink';
import { getTask } from '../../datasets/glueTasks.ts';
import { embeddingMap, stackFeatures, type EmbeddingMap } from '../../src/engine/analysis/embeddingMap.ts';
import { pooledFeatures } from '../../src/engine/analysis/pooledFeatures.ts';
import type { ShardKey } from '../../src/engine/data/shardStore.ts';
import type { MultiTaskModel } from '../../src/engine/model/multiTaskModel.ts';
import { IdbTrainStateStore } from '../../src/engine/platform/browser/idbTrainStateStore.ts';
import { predictSplit } from '../../src/engine/train/evaluate.ts';
import { exportCheckpointFiles } from '../../src/engine/train/exportCheckpoint.ts';
import { buildSubmissionZip, type SubmissionPredictions } from '../../src/engine/train/submission.ts';
import { assignVariables, decodeTrainState } from '../../src/engine/train/trainState.ts';
import { ensureBackend } from './backendSession.ts';
import { folderZip } from './folderZip.ts';
import { modelFromConfig, specsFor } from './buildModel.ts';
import { loadRunData } from './runData.ts';
import { getRun } from './runStore.ts';
import { loadShard } from './shardAccess.ts';
import type { EmbeddingRequest, RunRecord } from './types.ts';
import { session } from './workerSession.ts';

/** What is computed from a run's latest weights: the checkpoint zip, the GLUE submission and the embedding map. */

/** A model with a run's latest saved weights: the live one when the run has ended, else rebuilt from IndexedDB. */
export async function modelOfRun(id: string): Promise<{ model: MultiTaskModel; record: RunRecord; owned: boolean }> {
  const { live } = session;
  if (live && live.id === id && live.finished) return { model: live.model, record: live.record, owned: false };
  const record = await getRun(id);
  if (!record) throw new Error(`no run ${id} in this browser's storage`);
  await ensureBackend(record.experiment.backend);
  const store = await IdbTrainStateStore.open(id);
  const stored = await store.load();
  store.close();
  if (!stored) throw new Error(`run ${id} has no saved checkpoint`);
  const state = decodeTrainState(stored, `run ${id} checkpoint`);
  const model = modelFromConfig(record.experiment, record.configJson);
  try {
    assignVariables(model.namedVariables(), state.model, `run ${id} checkpoint`);
  } catch (e) {
    model.dispose();
    throw e;
  }
  return { model, record, owned: true };
}

/** The run's latest weights as an HF folder (config.json, vocab.txt, model.safetensors, heads.json, …) zipped. */
export async function exportCheckpoint(id: string): Promise<{ fileName: string; zip: Uint8Array }> {
  const { model, record, owned } = await modelOfRun(id);
  try {
    const files = await exportCheckpointFiles(model, {
      experiment: record.experiment,
      vocabText: record.vocabText,
      doLowerCase: record.doLowerCase,
      metrics: record.evaluation ?? undefined,
    });
    return folderZip(`${record.name}-${record.id}`, files);
  } finally {
    if (owned) model.dispose();
  }
}

/** GLUE submission zip from the run's model over cached test shards (partial when some test sets are missing). */
export async function exportSubmission(id: string, testKeys: ShardKey[]): Promise<{ zip: Uint8Array; files: string[]; missing: string[]; warnings: string[] }> {
  const { model, record, owned } = await modelOfRun(id);
  try {
    const specs = specsFor(record.experiment);
    const preds: SubmissionPredictions[] = [];
    for (const key of testKeys) {
      const spec = specs[key.task];
      if (!spec) throw new Error(`the run has no head for ${key.task}`);
      getTask(key.task);
      const p = await predictSplit(model, spec, await loadShard(key), record.experiment.evalBatchSize);
      preds.push({ task: key.task, split: key.split, uids: p.uids, predictions: p.predictions });
    }
    const sub = buildSubmissionZip(preds, { allowPartial: true });
    return Comlink.transfer({ zip: sub.zip, files: [...sub.files.keys()], missing: sub.missing, warnings: sub.warnings }, [sub.zip.buffer as ArrayBuffer]);
  } finally {
    if (owned) model.dispose();
  }
}

/** A UMAP of pooled [CLS] features of dev rows, coloured by task (FastMTL's figure), computed here. */
export async function embeddings(id: string, req: EmbeddingRequest, onProgress?: (done: number, total: number) => void): Promise<EmbeddingMap> {
  const { model, record, owned } = await modelOfRun(id);
  try {
    const splits = await loadRunData(record.experiment, record.data, loadShard, { devOnly: true });
    const parts = [];
    for (const t of record.experiment.tasks) {
      const s = splits[t.name].dev ?? splits[t.name].train;
      const n = Math.min(req.rowsPerTask, s.rows);
      const f = await pooledFeatures(model.encoder, s, {
        rows: Array.from({ length: n }, (_, i) => i),
        taskId: model.taskId(t.name),
        batchSize: record.experiment.evalBatchSize,
      });
      parts.push({ task: t.name, uids: f.uids, values: f.values, dim: f.dim });
    }
    const epochs = 200;
    return await embeddingMap(stackFeatures(parts), { seed: req.seed, nEpochs: epochs, onEpoch: (e) => void onProgress?.(e, epochs) });
  } finally {
    if (owned) model.dispose();
  }
}
