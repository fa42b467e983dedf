import * as tf from '@tensorflow/tfjs';
import type { GradMap } from './optim/types.ts';

/** The torch.nn.utils.clip_grad_norm_ epsilon: clip_coef = max_norm / (total_norm + 1e-6). */
const CLIP_EPS = 1e-6;

function entriesOf(grads: GradMap): [string, tf.Tensor][] {
  return grads instanceof Map ? [...grads.entries()] : Object.entries(grads);
}

function checkMaxNorm(maxNorm: number): void {
  if (!(maxNorm > 0) || !Number.isFinite(maxNorm)) {
    throw new Error(`clipGradients: maxNorm must be a positive finite number, got ${maxNorm}`);
  }
}

/**
 * ‖g‖₂ over all gradients (torch clip_grad_norm_'s total norm) as √Σg², not the norm of per-tensor tf.norm:
 * the same value, but tf.norm's abs+pow kernels cost ~0.7 s a step on wasm for the [V, H] embedding gradient.
 */
export function globalNorm(grads: Iterable<tf.Tensor>): tf.Scalar {
  return tf.tidy(() => tf.sqrt(tf.addN([...grads].map((g) => tf.sum(tf.square(tf.cast(g, 'float32')))))) as tf.Scalar);
}

/**
 * Global-norm clipping over all gradients, as torch clip_grad_norm_ (L2): every gradient is scaled by
 * min(1, maxNorm / (‖g‖ + 1e-6)). The inputs are left alone; the caller owns (and disposes) both the returned
 * gradients and the norm scalar. Nothing is read back, so this does not stall a GPU queue.
 */
export function clipGradientsTensor(grads: GradMap, maxNorm: number): { grads: Map<string, tf.Tensor>; norm: tf.Scalar } {
  checkMaxNorm(maxNorm);
  const entries = entriesOf(grads);
  if (entries.length === 0) throw new Error('clipGradients: no gradients given');
  const [clipped, norm] = tf.tidy(() => {
    const total = globalNorm(entries.map(([, g]) => g));
    const coef = tf.minimum(tf.div(maxNorm, tf.add(total, CLIP_EPS)), 1);
    return [entries.map(([, g]) => tf.mul(g, coef)), total] as [tf.Tensor[], tf.Scalar];
  });
  return { grads: new Map(entries.map(([name], i) => [name, clipped[i]])), norm };
}

/** clipGradientsTensor, with the pre-clip global norm read back as a number. */
export async function clipGradients(grads: GradMap, maxNorm: number): Promise<{ grads: Map<string, tf.Tensor>; norm: number }> {
  const { grads: clipped, norm } = clipGradientsTensor(grads, maxNorm);
  try {
    return { grads: clipped, norm: (await norm.data())[0] };
  } catch (err) {
    clipped.forEach((g) => g.dispose());
    throw err;
  } finally {
    norm.dispose();
  }
}
