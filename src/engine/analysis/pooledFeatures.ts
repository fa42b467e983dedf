import * as tf from '@tensorflow/tfjs';
import { BatchReader } from '../data/batchReader.ts';
import type { LoadedSplit } from '../data/shardReader.ts';
import type { BertEncoder } from '../model/bertEncoder.ts';
import { subsetSplit } from '../train/memorySplit.ts';

/**
 * The BERT pooled output of examples in eval mode (no dropout): tanh(W·h_[CLS] + b), before any head's
 * dropout. FastMTL's t-SNE inputs (docs/methods.md §4.6) and what its task discriminator scores at prediction time.
 */

export interface PooledFeatures {
  uids: string[];
  /** Rows of the split, in the order asked for. */
  rows: number[];
  /** Row-major [n, dim]. */
  values: Float32Array;
  dim: number;
}

export interface PooledOptions {
  /** Row indices of the split (file order is kept as given); all rows by default. */
  rows?: readonly number[];
  batchSize?: number;
  /** Task id for encoder variants with task-specific parts. */
  taskId?: number;
  /** Maps the pooled batch [B, H] to what is read back (e.g. discriminator probabilities [B, T]). */
  project?: (pooled: tf.Tensor2D) => tf.Tensor2D;
}

export async function pooledFeatures(encoder: BertEncoder, split: LoadedSplit, opts: PooledOptions = {}): Promise<PooledFeatures> {
  const rows = opts.rows ? [...opts.rows] : Array.from({ length: split.rows }, (_, i) => i);
  const batchSize = opts.batchSize ?? 32;
  if (rows.length === 0) return { uids: [], rows: [], values: new Float32Array(0), dim: opts.project ? 0 : encoder.config.hiddenSize };
  const part = opts.rows ? subsetSplit(split, rows) : split;
  // No shuffling and no length bucketing: the output keeps the order of `rows`.
  const reader = new BatchReader([part], { batchSize, seed: 0, shuffle: false, bucketBatches: 1 });
  const chunks: Float32Array[] = [];
  const uids: string[] = [];
  let dim = 0;
  for (const b of reader.restOfEpoch()) {
    const out = tf.tidy(() => {
      const shape: [number, number] = [b.batchSize, b.seqLen];
      const input = {
        inputIds: tf.tensor2d(b.inputIds, shape, 'int32'),
        tokenTypeIds: tf.tensor2d(b.tokenTypeIds, shape, 'int32'),
        attentionMask: tf.tensor2d(b.attentionMask, shape, 'int32'),
      };
      const pooled = encoder.forward(input, { training: false, taskId: opts.taskId }).pooled;
      return opts.project ? opts.project(pooled) : pooled;
    });
    try {
      dim = out.shape[1];
      chunks.push((await out.data()) as Float32Array);
    } finally {
      out.dispose();
    }
    uids.push(...b.uids);
  }
  const values = new Float32Array(rows.length * dim);
  let at = 0;
  for (const c of chunks) {
    values.set(c, at);
    at += c.length;
  }
  return { uids, rows, values, dim };
}
