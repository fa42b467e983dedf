import * as tf from '@tensorflow/tfjs';
import { dropout } from '../ops.ts';
import { crossEntropyPerExample, weightedMean } from '../losses.ts';
import { LinearLayer, type LinearSnapshot } from './linearLayer.ts';
import type { HeadCallOptions, HeadFeatures, HeadSnapshot, TaskHead } from './taskHead.ts';

/** MT-DNN's linear answer layer (§1.4.1): logits = W · Dropout_task(pooled) + b, cross-entropy loss. */
export class ClassificationHead implements TaskHead {
  readonly kind = 'classification' as const;
  private readonly linear: LinearLayer;

  constructor(
    readonly task: string,
    hiddenSize: number,
    readonly numLabels: number,
    readonly dropoutRate = 0.1,
    init: LinearSnapshot | { seed: number } = { seed: 0 },
  ) {
    this.linear = new LinearLayer(`${task}.classifier`, hiddenSize, numLabels, init);
  }

  forward(f: HeadFeatures, o: HeadCallOptions): tf.Tensor2D {
    return this.linear.apply(dropout(f.pooled, this.dropoutRate, o.training, o.dropoutSeed)) as tf.Tensor2D; // [B, C]
  }
  perExampleLoss(logits: tf.Tensor, labels: tf.Tensor): tf.Tensor1D {
    return crossEntropyPerExample(logits, labels);
  }
  loss(logits: tf.Tensor, labels: tf.Tensor, weights?: tf.Tensor): tf.Scalar {
    return weightedMean(this.perExampleLoss(logits, labels), weights);
  }
  predict(logits: tf.Tensor): tf.Tensor1D {
    return tf.argMax(logits, -1) as tf.Tensor1D;
  }
  namedVariables() {
    return this.linear.namedVariables(`heads.${this.task}.classifier`);
  }
  snapshot(): HeadSnapshot {
    return { kind: this.kind, task: this.task, numLabels: this.numLabels, dropout: this.dropoutRate, layers: { classifier: this.linear.snapshot() } };
  }
  dispose() {
    this.linear.dispose();
  }
}
