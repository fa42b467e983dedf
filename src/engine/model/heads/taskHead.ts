import type * as tf from '@tensorflow/tfjs';
import type { LinearSnapshot } from './linearLayer.ts';

/** What the encoder hands to a task head. */
export interface HeadFeatures {
  pooled: tf.Tensor2D; // [B, H]
  sequence: tf.Tensor3D; // [B, T, H]
  tokenTypeIds: tf.Tensor2D; // [B, T] (SAN splits premise/hypothesis by it)
  attentionMask: tf.Tensor2D; // [B, T]
}

export interface HeadCallOptions {
  training: boolean;
  dropoutSeed?: number;
}

export type HeadKind = 'classification' | 'regression' | 'ranking' | 'san';

/** Serializable head state (goes into checkpoints and the exported `heads.json`). */
export interface HeadSnapshot {
  kind: HeadKind;
  task: string;
  numLabels: number;
  dropout: number;
  layers: Record<string, LinearSnapshot | number[] | number[][]>;
}

/** A task-specific output layer with its loss (MT-DNN §1.4–1.5). */
export interface TaskHead {
  readonly kind: HeadKind;
  readonly task: string;
  readonly numLabels: number;
  /** Classification/SAN: [B, C] (SAN returns log-probabilities). Regression: [B] scores. Ranking: [B] scores. */
  forward(f: HeadFeatures, o: HeadCallOptions): tf.Tensor;
  /** Mean loss over the batch; `weights` [B] scales each example (SIWLM, CeCriterion with weight). */
  loss(output: tf.Tensor, labels: tf.Tensor, weights?: tf.Tensor): tf.Scalar;
  /** Per-example loss [B] (GradTS, FastMTL scoring, importance). */
  perExampleLoss(output: tf.Tensor, labels: tf.Tensor): tf.Tensor1D;
  /** Predictions for metrics: class ids (classification/ranking) or scores (regression). */
  predict(output: tf.Tensor): tf.Tensor1D;
  namedVariables(): Map<string, tf.Variable>;
  snapshot(): HeadSnapshot;
  dispose(): void;
}
