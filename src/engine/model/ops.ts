import * as tf from '@tensorflow/tfjs';
import { gatherRows } from './kernels/gatherRows.ts';
import { transposeLast2 } from './kernels/transposeLast2.ts';
import { FUSED_GELU, FUSED_LAYER_NORM, fusedGelu, fusedLayerNorm, hasFusedKernel } from './fusedOps.ts';
import { sumRows } from './kernels/sumRows.ts';
import { FUSED_DROPOUT, fusedDropout } from './kernels/fusedDropout.ts';

/**
 * Building blocks with hand-written gradients where tfjs's defaults are slow or missing on some backends
 * (docs/architecture.md, tfjs traps 1–3). Shapes are noted as [rows, cols]; N = B·T flattened positions.
 */

/** y = x·W + b with x [N, in], W [in, out] (stored transposed from HF's [out, in]), b [out] → [N, out].
 * The gradient keeps every matmul on tfjs-wasm's XNNPACK path (2-D, no transpose flags: the transposed
 * matMul is 10–35× slower), transposing one of x and dy for dW (which one: below), and sums dy over rows
 * for db in one pass (kernels/sumRows.ts). */
export const dense2d = tf.customGrad((...args: unknown[]) => {
  const [x, W, b, save] = args as [tf.Tensor2D, tf.Tensor2D, tf.Tensor1D, tf.GradSaveFunc];
  save([x, W]);
  return {
    value: tf.add(tf.matMul(x, W), b),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [xs, Ws] = saved as [tf.Tensor2D, tf.Tensor2D];
      const dy2 = dy as tf.Tensor2D;
      const inDim = xs.shape[1];
      const outDim = Ws.shape[1];
      const dx = tf.matMul(dy2, transposeLast2(Ws));
      // dW = xᵀ·dy or (dyᵀ·x)ᵀ. On wasm, whichever passes the narrower [N, ·] operand as XNNPACK's weights: it
      // packs the weights afresh on every call (a new tensor each step), ~3 ms for a [2048, 512] operand, more
      // than the tiled transpose of the wider one costs; both forms multiply and add the same terms in the same
      // order. Elsewhere the narrower operand is the one transposed (less to copy).
      const transposeDy = tf.getBackend() === 'wasm' ? inDim <= outDim : inDim > outDim;
      const dW = transposeDy ? transposeLast2(tf.matMul(transposeLast2(dy2), xs) as tf.Tensor2D) : tf.matMul(transposeLast2(xs), dy2);
      return [dx, dW, sumRows(dy2)];
    },
  };
}) as (x: tf.Tensor2D, W: tf.Tensor2D, b: tf.Tensor1D) => tf.Tensor2D;

/** Dense layer over any leading shape: x [..., in] → [..., out]. */
export function dense(x: tf.Tensor, W: tf.Tensor2D, b: tf.Tensor1D): tf.Tensor {
  const inDim = W.shape[0];
  const outDim = W.shape[1];
  const lead = x.shape.slice(0, -1);
  const y = dense2d(tf.reshape(x, [-1, inDim]) as tf.Tensor2D, W, b);
  return tf.reshape(y, [...lead, outDim]);
}

/** Rows of `table` [V, H] for integer `ids` (any shape) → [...ids.shape, H].
 * The default gather gradient needs UnsortedSegmentSum (absent on wasm, pathological on cpu), so the
 * gradient here is a scatterND, which sums duplicate ids. WebGPU keeps tfjs's own gradient. On wasm the
 * lookup is a row copy (kernels/gatherRows.ts), not tfjs's per-element GatherV2. */
const gatherWithScatterGrad = tf.customGrad((...args: unknown[]) => {
  const [table, ids, save] = args as [tf.Tensor2D, tf.Tensor, tf.GradSaveFunc];
  save([ids]);
  const flatIds = tf.reshape(ids, [-1]) as tf.Tensor1D;
  const H = table.shape[1];
  const V = table.shape[0];
  return {
    value: tf.reshape(gatherRows(table, flatIds), [...ids.shape, H]),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const idx = tf.reshape(saved[0], [-1, 1]);
      const dTable = tf.scatterND(idx, tf.reshape(dy, [-1, H]), [V, H]);
      return [dTable, tf.zerosLike(saved[0])];
    },
  };
}) as (table: tf.Tensor2D, ids: tf.Tensor) => tf.Tensor;

export function embeddingLookup(table: tf.Tensor2D, ids: tf.Tensor): tf.Tensor {
  if (tf.getBackend() === 'webgpu') {
    return tf.reshape(tf.gather(table, tf.reshape(ids, [-1])), [...ids.shape, table.shape[1]]);
  }
  return gatherWithScatterGrad(table, ids);
}

/** LayerNorm over the last axis (biased variance, ε inside the square root, as BERT). */
export function layerNorm(x: tf.Tensor, gamma: tf.Tensor1D, beta: tf.Tensor1D, eps: number): tf.Tensor {
  if (hasFusedKernel(FUSED_LAYER_NORM)) return fusedLayerNorm(x, gamma, beta, eps);
  const mean = tf.mean(x, -1, true);
  const centered = tf.sub(x, mean);
  const variance = tf.mean(tf.square(centered), -1, true);
  return tf.add(tf.mul(tf.mul(centered, tf.rsqrt(tf.add(variance, eps))), gamma), beta);
}

/** BERT's activations: 'gelu' is the exact erf form; 'gelu_new' the tanh approximation. */
export function activation(x: tf.Tensor, kind: 'gelu' | 'gelu_new' | 'relu'): tf.Tensor {
  if (kind === 'relu') return tf.relu(x);
  if (kind === 'gelu_new') {
    const inner = tf.mul(Math.sqrt(2 / Math.PI), tf.add(x, tf.mul(0.044715, tf.pow(x, 3))));
    return tf.mul(tf.mul(0.5, x), tf.add(1, tf.tanh(inner)));
  }
  if (hasFusedKernel(FUSED_GELU)) return fusedGelu(x);
  return tf.mul(tf.mul(0.5, x), tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2))));
}

/** Inverted dropout; identity when rate is 0 or not training. `seed` makes masks reproducible. */
export function dropout(x: tf.Tensor, rate: number, training: boolean, seed?: number): tf.Tensor {
  if (!training || rate <= 0) return x;
  if (hasFusedKernel(FUSED_DROPOUT)) return fusedDropout(x, rate, seed);
  return tf.dropout(x, rate, undefined, seed);
}

/** Identity forward, zero gradient (tfjs has no stop_gradient/detach op). */
export const stopGradient = tf.customGrad((...args: unknown[]) => {
  const [x] = args as [tf.Tensor];
  return { value: tf.clone(x), gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy) };
}) as <T extends tf.Tensor>(x: T) => T;
