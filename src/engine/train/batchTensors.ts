import * as tf from '@tensorflow/tfjs';
import type { TaskType } from '../../../datasets/types.ts';
import type { Batch } from '../data/batchReader.ts';

/** A batch on the backend: encoder inputs [B, T] and the labels the task's loss takes. */
export interface BatchTensors {
  inputIds: tf.Tensor2D;
  tokenTypeIds: tf.Tensor2D;
  attentionMask: tf.Tensor2D;
  /** Classification: int32 class ids [B]; regression: float32 scores [B]; ranking: int32 positive index per group. */
  labels: tf.Tensor1D;
}

/** Real (unpadded) tokens in a batch, for tokens/s. */
export function realTokens(b: Batch): number {
  let n = 0;
  for (let i = 0; i < b.attentionMask.length; i++) n += b.attentionMask[i];
  return n;
}

function classIds(b: Batch, numLabels: number): Int32Array {
  const out = new Int32Array(b.batchSize);
  for (let i = 0; i < b.batchSize; i++) {
    const y = b.labels[i];
    if (!Number.isInteger(y) || y < 0 || y >= numLabels) {
      throw new Error(`${b.task}/${b.split}: row ${b.uids[i]} has label ${y}, not a class id in [0, ${numLabels})`);
    }
    out[i] = y;
  }
  return out;
}

/** Ranking rows come in groups of `groupSize` candidates; the target is the index of the positive one (docs/methods.md §1.4.3). */
function groupTargets(b: Batch, groupSize: number): Int32Array {
  if (b.batchSize % groupSize !== 0) throw new Error(`${b.task}/${b.split}: ranking batch of ${b.batchSize} rows is not a multiple of ${groupSize}`);
  const out = new Int32Array(b.batchSize / groupSize);
  for (let g = 0; g < out.length; g++) {
    let best = 0;
    for (let k = 1; k < groupSize; k++) if (b.labels[g * groupSize + k] > b.labels[g * groupSize + best]) best = k;
    out[g] = best;
  }
  return out;
}

/** Uploads a host batch. The caller disposes the tensors (or creates them inside tf.tidy). */
export function batchToTensors(b: Batch, type: TaskType, numLabels: number): BatchTensors {
  const shape: [number, number] = [b.batchSize, b.seqLen];
  let labels: tf.Tensor1D;
  if (type === 'classification') labels = tf.tensor1d(classIds(b, numLabels), 'int32');
  else if (type === 'ranking') labels = tf.tensor1d(groupTargets(b, 2), 'int32');
  else labels = tf.tensor1d(b.labels, 'float32');
  return {
    inputIds: tf.tensor2d(b.inputIds, shape, 'int32'),
    tokenTypeIds: tf.tensor2d(b.tokenTypeIds, shape, 'int32'),
    attentionMask: tf.tensor2d(b.attentionMask, shape, 'int32'),
    labels,
  };
}

export function disposeBatch(t: BatchTensors): void {
  tf.dispose([t.inputIds, t.tokenTypeIds, t.attentionMask, t.labels]);
}
