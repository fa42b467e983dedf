import * as tf from '@tensorflow/tfjs';
import { batchMatMul } from './batchMatMulFast.ts';
import { transposeLast2 } from './transposeLast2.ts';

/**
 * The two matmuls of scaled dot-product attention over B·A heads. On wasm they run as per-head XNNPACK
 * matmuls (batchMatMulFast.ts), forward and backward; on cpu and webgpu as tfjs's batched matMul, whose
 * transposed form those backends handle without a separate transpose.
 */

/** q·kᵀ/√d: q, k [B·A, T, d] → scores [B·A, T, T]. */
export function attentionScores(q: tf.Tensor3D, k: tf.Tensor3D, d: number): tf.Tensor3D {
  if (tf.getBackend() !== 'wasm') return tf.div(tf.matMul(q, k, false, true), Math.sqrt(d));
  return tf.div(batchMatMul(q, transposeLast2(k)), Math.sqrt(d));
}

/** probs·v: probs [B·A, T, T], v [B·A, T, d] → [B·A, T, d]. */
export function attentionContext(probs: tf.Tensor3D, v: tf.Tensor3D): tf.Tensor3D {
  if (tf.getBackend() !== 'wasm') return tf.matMul(probs, v);
  return batchMatMul(probs, v);
}
