import { filesSource } from '../../src/engine/checkpoint/modelSource.ts';
import type { LoadedSplit } from '../../src/engine/data/shardReader.ts';
import { importedHeadAnalysis, loadRunCheckpoint, splitFromJsonl } from '../../src/engine/export/torch/importRun.ts';
import { importedRunRecord } from './importedRun.ts';
import type { RunRecord } from './types.ts';

/** Dev rows per task for the imported model's head importance (as `taskscope import-run`'s default). */
export const IMPORT_IMPORTANCE_ROWS = 64;

/** The text files of a run folder the record is built from. */
const TEXT_FILES = ['log.jsonl', 'metrics.json', 'checkpoint/config.json', 'checkpoint/experiment.json', 'checkpoint/vocab.txt'];

/**
 * A run folder written by an exported train.py (`--out`: log.jsonl, metrics.json, checkpoint/, data/<task>/dev.jsonl)
 * as a stored run, with head importance and task correlation computed here on the imported checkpoint (not taken
 * from `import-run`'s numbers). `files` maps paths inside the folder to their contents.
 */
export async function importTorchRunFiles(
  files: ReadonlyMap<string, Blob>,
  id: string,
  now?: string,
  importanceRows = IMPORT_IMPORTANCE_ROWS,
): Promise<RunRecord> {
  const texts = new Map<string, string>();
  for (const name of TEXT_FILES) {
    const blob = files.get(name);
    if (blob) texts.set(name, await blob.text());
  }
  const checkpoint = new Map([...files].filter(([p]) => p.startsWith('checkpoint/') && p.split('/').length === 2));
  if (!checkpoint.has('checkpoint/model.safetensors') || !checkpoint.has('checkpoint/heads.json'))
    throw new Error('checkpoint/model.safetensors and checkpoint/heads.json are needed: pick the folder train.py wrote (--out)');
  const metrics = JSON.parse(texts.get('metrics.json') ?? '{}') as { padId?: unknown };
  const config = JSON.parse(texts.get('checkpoint/config.json') ?? '{}') as { pad_token_id?: unknown };
  const padId = typeof metrics.padId === 'number' ? metrics.padId : typeof config.pad_token_id === 'number' ? config.pad_token_id : 0;
  const { model } = await loadRunCheckpoint(filesSource(checkpoint));
  try {
    const dev: Record<string, LoadedSplit> = {};
    for (const t of model.tasks) {
      const blob = files.get(`data/${t}/dev.jsonl`);
      if (blob) dev[t] = splitFromJsonl(t, 'dev', await blob.text(), padId, `data/${t}/dev.jsonl`);
    }
    if (Object.keys(dev).length === 0) throw new Error('no data/<task>/dev.jsonl in the folder: head importance needs the dev rows train.py copies there');
    const analysis = await importedHeadAnalysis(model, dev, importanceRows);
    return importedRunRecord(texts, id, now, analysis);
  } finally {
    model.dispose();
  }
}
