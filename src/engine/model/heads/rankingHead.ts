import * as tf from '@tensorflow/tfjs';
import { dropout } from '../ops.ts';
import { crossEntropyPerExample, weightedMean } from '../losses.ts';
import { LinearLayer, type LinearSnapshot } from './linearLayer.ts';
import type { HeadCallOptions, HeadFeatures, HeadSnapshot, TaskHead } from './taskHead.ts';

/**
 * Pairwise ranking (MT-DNN §1.4.3, QNLI as ranking): each (question, candidate) row gets one score g;
 * rows come in groups of `groupSize` candidates of one question, and the loss is cross-entropy over the
 * group (P(A⁺|Q) = exp(γg⁺)/Σ exp(γg), γ = 1). Labels are per group: the index of the positive candidate.
 * Always linear: SAN with one class collapses to a constant (Taskscope decision 2).
 */
export class RankingHead implements TaskHead {
  readonly kind = 'ranking' as const;
  readonly numLabels = 1;
  private readonly linear: LinearLayer;

  constructor(
    readonly task: string,
    hiddenSize: number,
    readonly dropoutRate = 0.1,
    readonly groupSize = 2,
    init: LinearSnapshot | { seed: number } = { seed: 0 },
  ) {
    this.linear = new LinearLayer(`${task}.ranker`, hiddenSize, 1, init);
  }

  /** Scores per row: [B·groupSize]. */
  forward(f: HeadFeatures, o: HeadCallOptions): tf.Tensor1D {
    return tf.reshape(this.linear.apply(dropout(f.pooled, this.dropoutRate, o.training, o.dropoutSeed)), [-1]) as tf.Tensor1D;
  }
  private grouped(scores: tf.Tensor): tf.Tensor2D {
    const n = scores.shape[0]!;
    if (n % this.groupSize !== 0) throw new Error(`${this.task}: ranking batch of ${n} rows is not a multiple of group size ${this.groupSize}`);
    return tf.reshape(scores, [-1, this.groupSize]) as tf.Tensor2D; // [B, groupSize]
  }
  /** labels: [B] index of the positive candidate in each group. */
  perExampleLoss(scores: tf.Tensor, labels: tf.Tensor): tf.Tensor1D {
    return crossEntropyPerExample(this.grouped(scores), labels);
  }
  loss(scores: tf.Tensor, labels: tf.Tensor, weights?: tf.Tensor): tf.Scalar {
    return weightedMean(this.perExampleLoss(scores, labels), weights);
  }
  /** Per row: 1 for the best-scored candidate of its group, 0 for the others ([B·groupSize]). */
  predict(scores: tf.Tensor): tf.Tensor1D {
    const g = this.grouped(scores);
    return tf.reshape(tf.oneHot(tf.argMax(g, -1), this.groupSize), [-1]) as tf.Tensor1D;
  }
  namedVariables() {
    return this.linear.namedVariables(`heads.${this.task}.ranker`);
  }
  snapshot(): HeadSnapshot {
    return { kind: this.kind, task: this.task, numLabels: 1, dropout: this.dropoutRate, layers: { ranker: this.linear.snapshot() } };
  }
  dispose() {
    this.linear.dispose();
  }
}
