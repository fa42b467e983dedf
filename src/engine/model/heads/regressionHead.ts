import * as tf from '@tensorflow/tfjs';
import { dropout } from '../ops.ts';
import { squaredErrorPerExample, weightedMean } from '../losses.ts';
import { LinearLayer, type LinearSnapshot } from './linearLayer.ts';
import type { HeadCallOptions, HeadFeatures, HeadSnapshot, TaskHead } from './taskHead.ts';

/** MT-DNN regression (§1.4.4, STS-B): one linear output, no activation, MSE on the raw scores.
 * Predictions are the scores themselves (Taskscope decision 4), never an argmax. */
export class RegressionHead implements TaskHead {
  readonly kind = 'regression' as const;
  readonly numLabels = 1;
  private readonly linear: LinearLayer;

  constructor(
    readonly task: string,
    hiddenSize: number,
    readonly dropoutRate = 0.1,
    init: LinearSnapshot | { seed: number } = { seed: 0 },
  ) {
    this.linear = new LinearLayer(`${task}.regressor`, hiddenSize, 1, init);
  }

  forward(f: HeadFeatures, o: HeadCallOptions): tf.Tensor1D {
    const y = this.linear.apply(dropout(f.pooled, this.dropoutRate, o.training, o.dropoutSeed)); // [B, 1]
    return tf.reshape(y, [-1]) as tf.Tensor1D; // [B]
  }
  perExampleLoss(scores: tf.Tensor, targets: tf.Tensor): tf.Tensor1D {
    return squaredErrorPerExample(scores, targets);
  }
  loss(scores: tf.Tensor, targets: tf.Tensor, weights?: tf.Tensor): tf.Scalar {
    return weightedMean(this.perExampleLoss(scores, targets), weights);
  }
  predict(scores: tf.Tensor): tf.Tensor1D {
    return tf.reshape(scores, [-1]) as tf.Tensor1D;
  }
  namedVariables() {
    return this.linear.namedVariables(`heads.${this.task}.regressor`);
  }
  snapshot(): HeadSnapshot {
    return { kind: this.kind, task: this.task, numLabels: 1, dropout: this.dropoutRate, layers: { regressor: this.linear.snapshot() } };
  }
  dispose() {
    this.linear.dispose();
  }
}
