import * as tf from '@tensorflow/tfjs';
import { batchMatMul, batchMatMulForward } from './batchMatMulFast.ts';
import { transposeLast2 } from './transposeLast2.ts';

/**
 * The two matmuls of scaled dot-product attention over B·A heads. On wasm they run as per-head XNNPACK
 * matmuls (batchMatMulFast.ts), forward and backward; on cpu and webgpu as tfjs's batched matMul, whose
 * transposed form those backends handle without a separate transpose.
 */

/** q·kᵀ/√d: q, k [B·A, T, d] → scores [B·A, T, T]. */
export function attentionScores(q: tf.Tensor3D, k: tf.Tensor3D, d: number): tf.Tensor3D {
  if (tf.getBackend() !== 'wasm') return tf.div(tf.matMul(q, k, false, true), Math.sqrt(d));
  return tf.div(queryKeyProduct(q, k), Math.sqrt(d));
}

/** q·kᵀ with its gradient written for q and k themselves: dq = ds·k and dk = dsᵀ·q, one transpose (of ds)
 * where differentiating batchMatMul(q, kᵀ) took three (kᵀ back to k, q, and dkᵀ to dk). The same products
 * summed in the same order, so the same values. */
const queryKeyProduct = tf.customGrad((...args: unknown[]) => {
  const [q, k, save] = args as [tf.Tensor3D, tf.Tensor3D, tf.GradSaveFunc];
  save([q, k]);
  return {
    value: batchMatMulForward(q, transposeLast2(k)),
    gradFunc: (ds: tf.Tensor, saved: tf.Tensor[]) => {
      const [qs, ks] = saved as [tf.Tensor3D, tf.Tensor3D];
      return [batchMatMulForward(ds as tf.Tensor3D, ks), batchMatMulForward(transposeLast2(ds as tf.Tensor3D), qs)];
    },
  };
}) as (q: tf.Tensor3D, k: tf.Tensor3D) => tf.Tensor3D;

/** probs·v: probs [B·A, T, T], v [B·A, T, d] → [B·A, T, d]. */
export function attentionContext(probs: tf.Tensor3D, v: tf.Tensor3D): tf.Tensor3D {
  if (tf.getBackend() !== 'wasm') return tf.matMul(probs, v);
  return batchMatMul(probs, v);
}
