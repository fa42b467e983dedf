import { saveBertCheckpoint } from '../checkpoint/hfFolder.ts';
import { serializeSafetensors } from '../checkpoint/safetensors.ts';
import type { NamedTensor } from '../checkpoint/types.ts';
import type { Experiment } from '../experiment/experimentSchema.ts';
import type { HeadSnapshot } from '../model/heads/taskHead.ts';
import type { MultiTaskModel } from '../model/multiTaskModel.ts';
import { readVariables } from './trainState.ts';

export const HEADS_FORMAT = 'taskscope-heads/1';

export interface HeadsFile {
  format: typeof HEADS_FORMAT;
  /** Linear weights in PyTorch layout: W [out, in], b [out]. */
  heads: HeadSnapshot[];
}

export interface ExportOptions {
  experiment: Experiment;
  vocabText: string;
  doLowerCase: boolean;
  /** Extra JSON written as `metrics.json` (final dev metrics). */
  metrics?: unknown;
}

/**
 * An HF BERT folder of the trained model: `config.json`, `vocab.txt`, `tokenizer_config.json`,
 * `model.safetensors` (the encoder with HF names, shapes and F32 dtype, loadable by BertModel.from_pretrained),
 * `heads.json` (task heads), `experiment.json`, and `extension.safetensors` when a variant adds parameters.
 */
export async function exportCheckpointFiles(model: MultiTaskModel, opts: ExportOptions): Promise<Map<string, Uint8Array>> {
  const heads: HeadsFile = { format: HEADS_FORMAT, heads: model.headSnapshots() };
  const extra: Record<string, string | Uint8Array> = {
    'heads.json': `${JSON.stringify(heads)}\n`,
    'experiment.json': `${JSON.stringify(opts.experiment, null, 2)}\n`,
  };
  if (opts.metrics !== undefined) extra['metrics.json'] = `${JSON.stringify(opts.metrics, null, 2)}\n`;
  const ext = model.encoder.extension;
  if (ext) {
    const snap = (ext as { snapshot?: () => NamedTensor[] }).snapshot;
    const tensors = snap ? snap.call(ext) : await readVariables(ext.namedVariables());
    extra['extension.safetensors'] = serializeSafetensors(tensors, 'F32', { format: 'taskscope-extension/1' });
  }
  return saveBertCheckpoint({
    config: model.encoder.config,
    vocabText: opts.vocabText,
    doLowerCase: opts.doLowerCase,
    tensors: model.encoder.toNamedTensors(),
    extra,
  });
}

/** Reads `heads.json` back (for fine-tuning from an export, or predicting with it). */
export function parseHeadsFile(text: string, origin = 'heads.json'): HeadSnapshot[] {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new Error(`${origin}: not valid JSON (${(e as Error).message})`);
  }
  const f = data as Partial<HeadsFile>;
  if (f?.format !== HEADS_FORMAT || !Array.isArray(f.heads)) throw new Error(`${origin}: expected {"format": "${HEADS_FORMAT}", "heads": [...]}`);
  return f.heads;
}
