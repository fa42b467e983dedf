import * as tf from '@tensorflow/tfjs';
import type { BertEncoder } from '../model/bertEncoder.ts';
import type { TaskHead } from '../model/heads/taskHead.ts';
import type { BatchSource, LabelledBatch, LossOptions } from './types.ts';

/** Per-example task losses [examples] of one batch: encoder → head → the head's unreduced loss. */
export function taskLosses(model: BertEncoder, head: TaskHead, batch: LabelledBatch, opts: LossOptions & { headMask?: tf.Tensor2D } = {}): tf.Tensor1D {
  const training = opts.training ?? false;
  const out = model.forward(batch, { headMask: opts.headMask, training, dropoutSeed: opts.dropoutSeed, taskId: opts.taskId });
  const features = { pooled: out.pooled, sequence: out.lastHiddenState, tokenTypeIds: batch.tokenTypeIds, attentionMask: batch.attentionMask };
  // The head's dropout gets its own seed so it does not repeat the encoder's first mask.
  const headSeed = opts.dropoutSeed === undefined ? undefined : opts.dropoutSeed + 997;
  return head.perExampleLoss(head.forward(features, { training, dropoutSeed: headSeed }), batch.labels);
}

/** Rows per example: 1, or the ranking head's group size. Throws when rows and labels do not divide. */
export function rowsPerExample(batch: LabelledBatch): number {
  const rows = batch.inputIds.shape[0];
  const n = batch.labels.shape[0];
  if (n === 0 || rows % n !== 0) {
    throw new Error(`importance batch: ${rows} input rows do not split into ${n} labelled examples`);
  }
  for (const [name, t] of [
    ['tokenTypeIds', batch.tokenTypeIds],
    ['attentionMask', batch.attentionMask],
  ] as const) {
    if (t.shape[0] !== rows || t.shape[1] !== batch.inputIds.shape[1]) {
      throw new Error(`importance batch: ${name} has shape [${t.shape}], expected [${batch.inputIds.shape}] like inputIds`);
    }
  }
  return rows / n;
}

/**
 * Every example of every batch as its own batch (GradTS measures with batch size 1; the mask measure needs
 * each example's own gradient). Trailing padding is cut, which changes no value: padded keys get exactly
 * zero probability in float32 and padded queries never reach [CLS]. The caller disposes each yielded batch.
 */
export async function* singleExamples(batches: BatchSource): AsyncGenerator<LabelledBatch> {
  for await (const batch of batches) {
    const r = rowsPerExample(batch);
    const n = batch.labels.shape[0];
    const T = batch.inputIds.shape[1];
    const mask = await batch.attentionMask.data();
    for (let i = 0; i < n; i++) {
      let len = 1;
      for (let row = i * r; row < (i + 1) * r; row++) {
        for (let t = T - 1; t >= len; t--)
          if (mask[row * T + t] !== 0) {
            len = t + 1;
            break;
          }
      }
      yield {
        inputIds: tf.slice(batch.inputIds, [i * r, 0], [r, len]),
        tokenTypeIds: tf.slice(batch.tokenTypeIds, [i * r, 0], [r, len]),
        attentionMask: tf.slice(batch.attentionMask, [i * r, 0], [r, len]),
        labels: tf.slice(batch.labels, [i], [1]),
      };
    }
  }
}

export function disposeBatch(b: LabelledBatch): void {
  tf.dispose([b.inputIds, b.tokenTypeIds, b.attentionMask, b.labels]);
}

/** Same-shaped tensors, stacked and read once at the end (one GPU→CPU transfer) → nested arrays.
 * The parts stay owned by the caller. */
export async function readStacked<T>(parts: tf.Tensor[]): Promise<T[]> {
  if (parts.length === 0) return [];
  const stacked = tf.stack(parts);
  try {
    return (await stacked.array()) as T[];
  } finally {
    stacked.dispose();
  }
}
