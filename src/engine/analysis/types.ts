import type * as tf from '@tensorflow/tfjs';

/**
 * A labelled batch for importance measures. Rows are grouped into "examples": one label per example, and
 * `rows / labels` consecutive rows per example (1 for classification/regression, the group size for the
 * ranking head, whose loss is one cross-entropy per candidate group).
 */
export interface LabelledBatch {
  inputIds: tf.Tensor2D; // int32 [rows, T]
  tokenTypeIds: tf.Tensor2D; // int32 [rows, T]
  attentionMask: tf.Tensor2D; // [rows, T], 1 = real token
  labels: tf.Tensor1D; // [examples]: class ids (int32) or regression targets (float32)
}

/** Batches as they come: an array, a generator, or a stream from a dataset reader. */
export type BatchSource = Iterable<LabelledBatch> | AsyncIterable<LabelledBatch>;

export interface LossOptions {
  /** Dropout on (GradTS measures in train mode, §3.2). Default false. */
  training?: boolean;
  /** Base seed for reproducible dropout masks; example i of a run uses seed + 1000·i. */
  dropoutSeed?: number;
  /** For encoder variants with task-specific parts (EmBERT, PALs). */
  taskId?: number;
}

/** A [L, A] matrix (layers × heads), row-major. */
export type HeadMatrix = number[][];
