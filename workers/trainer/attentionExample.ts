import * as tf from '@tensorflow/tfjs';
import type { LoadedSplit } from '../../src/engine/data/shardReader.ts';
import { BatchReader } from '../../src/engine/data/batchReader.ts';
import type { MultiTaskModel } from '../../src/engine/model/multiTaskModel.ts';
import { batchToTensors, disposeBatch } from '../../src/engine/train/batchTensors.ts';
import { subsetSplit } from '../../src/engine/train/memorySplit.ts';
import { loadRunData, type ShardLoader } from './runData.ts';
import type { RunRecord } from './types.ts';

/** Which example's attention to show: a task of the run and a row of its dev split (its training split without one). */
export interface AttentionRequest {
  task: string;
  row: number;
}

/** One example through a run's model in eval mode: its WordPiece tokens and every head's attention. */
export interface AttentionExample {
  task: string;
  split: 'dev' | 'train';
  row: number;
  /** Rows the split holds, so the page can offer the next example. */
  rows: number;
  uid: string;
  label: number;
  tokens: string[];
  /** [L][A][T][T] softmax attention probabilities over the example's T real tokens (queries by keys). */
  attentions: number[][][][];
}

type ModelOfRun = (id: string) => Promise<{ model: MultiTaskModel; record: RunRecord; owned: boolean }>;

/**
 * The attention pattern of every head of run `id` on one example of a task, for the Heads view's inspector:
 * the encoder with that task's id (variants with task-specific parts see it), dropout off, no head mask.
 */
export async function attentionOfRun(modelOfRun: ModelOfRun, loadShard: ShardLoader, id: string, req: AttentionRequest): Promise<AttentionExample> {
  const { model, record, owned } = await modelOfRun(id);
  try {
    if (!model.tasks.includes(req.task)) throw new Error(`the run has no task ${req.task}`);
    const splits = await loadRunData(record.experiment, record.data, loadShard, { devOnly: true });
    const s = splits[req.task];
    const split: LoadedSplit = s.dev && s.dev.rows > 0 ? s.dev : s.train;
    if (!Number.isInteger(req.row) || req.row < 0 || req.row >= split.rows)
      throw new Error(`${req.task}: no example ${req.row} (the split has ${split.rows} rows)`);
    const one = subsetSplit(split, [req.row]);
    const [batch] = [...new BatchReader([one], { batchSize: 1, seed: 0, shuffle: false, bucketBatches: 1 }).restOfEpoch()];
    const spec = model.slot(req.task).spec;
    const stacked = tf.tidy(() => {
      // Unlabelled rows carry NaN labels: upload zeros so class-id checks pass; the labels are not used here.
      const t = batchToTensors({ ...batch, labels: new Float32Array(1) }, spec.type, spec.numLabels);
      const out = model.encoder.forward(t, { training: false, outputAttentions: true, taskId: model.taskId(req.task) });
      disposeBatch(t);
      return tf.stack(out.attentions!, 1); // [1, L, A, T, T]
    });
    const all = ((await stacked.array()) as number[][][][][])[0];
    stacked.dispose();
    const n = split.lengths[req.row];
    const ids = split.ids.subarray(split.offsets[req.row], split.offsets[req.row] + n);
    const vocab = record.vocabText.split(/\r?\n/);
    return {
      task: req.task,
      split: split === s.dev ? 'dev' : 'train',
      row: req.row,
      rows: split.rows,
      uid: split.uids[req.row],
      label: split.labels[req.row],
      tokens: Array.from(ids, (i) => vocab[i] ?? `[${i}]`),
      attentions: all.map((layer) => layer.map((head) => head.slice(0, n).map((r) => r.slice(0, n)))),
    };
  } finally {
    if (owned) model.dispose();
  }
}
