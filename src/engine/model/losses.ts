import * as tf from '@tensorflow/tfjs';
import { stopGradient } from './ops.ts';

/** Per-example cross-entropy of logits [B, C] against integer labels [B] → [B]. */
export function crossEntropyPerExample(logits: tf.Tensor, labels: tf.Tensor): tf.Tensor1D {
  const C = logits.shape[logits.shape.length - 1];
  const oneHot = tf.oneHot(tf.cast(tf.reshape(labels, [-1]), 'int32'), C);
  return tf.neg(tf.sum(tf.mul(oneHot, tf.logSoftmax(logits)), -1)) as tf.Tensor1D;
}

/** Per-example squared error of scores [B] (or [B, 1]) against targets [B] → [B]. */
export function squaredErrorPerExample(scores: tf.Tensor, targets: tf.Tensor): tf.Tensor1D {
  return tf.square(tf.sub(tf.reshape(scores, [-1]), tf.reshape(tf.cast(targets, 'float32'), [-1]))) as tf.Tensor1D;
}

/** mean_i(loss_i · w_i), as MT-DNN's criteria do when a weight is given; plain mean otherwise. */
export function weightedMean(perExample: tf.Tensor1D, weights?: tf.Tensor): tf.Scalar {
  return (weights ? tf.mean(tf.mul(perExample, tf.reshape(weights, [-1]))) : tf.mean(perExample)) as tf.Scalar;
}

/** KL(softmax(target) ‖ softmax(input)) summed over classes, averaged over the batch ("batchmean"). */
export function klDivergence(inputLogits: tf.Tensor, targetLogits: tf.Tensor): tf.Scalar {
  const pt = tf.softmax(targetLogits);
  return tf.mean(tf.sum(tf.mul(pt, tf.sub(tf.logSoftmax(targetLogits), tf.logSoftmax(inputLogits))), -1)) as tf.Scalar;
}

/** MT-DNN SymKlCriterion: KL(p_t.detach ‖ p_in) + KL(p_in.detach ‖ p_t). */
export function symmetricKl(inputLogits: tf.Tensor, targetLogits: tf.Tensor): tf.Scalar {
  const a = klDivergence(inputLogits, stopGradient(targetLogits));
  const b = klDivergence(targetLogits, stopGradient(inputLogits));
  return tf.add(a, b) as tf.Scalar;
}

/** MT-DNN NsKlCriterion / "stable KL" (docs/methods.md §1.5, ε = 1e-6). */
export function stableKl(logits: tf.Tensor, targetLogits: tf.Tensor, epsilon = 1e-6): tf.Scalar {
  const p = tf.softmax(logits);
  const y = stopGradient(tf.softmax(targetLogits));
  const logit = (x: tf.Tensor) => stopGradient(tf.neg(tf.log(tf.add(tf.sub(tf.div(1, tf.add(x, epsilon)), 1), epsilon))));
  const B = logits.shape[0];
  return tf.div(tf.sum(tf.mul(tf.mul(p, tf.sub(logit(p), logit(y))), 2)), B) as tf.Scalar;
}
