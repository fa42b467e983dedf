import * as tf from '@tensorflow/tfjs';
import { registerGradientOnce } from './registerGradientOnce.ts';
import { attentionScores } from './attentionMatMuls.ts';

/**
 * softmax(q·kᵀ/√d + mask bias) of scaled dot-product attention (Vaswani et al. 2017). A backend may register
 * one kernel for the scale, the additive mask and the softmax (workers/webgpuAttentionKernels.ts does on
 * webgpu, where tfjs runs them as a Div, an Add and a Softmax forward and ~5 dispatches backward); elsewhere
 * the generic ops run, exactly as before. The gradient is registered here in closed form, for any backend:
 *   y = softmax(z), z = s/c + bias  ⇒  ∂L/∂z = y ⊙ (dy − Σ_row dy ⊙ y),  ∂L/∂s = ∂L/∂z / c,  ∂L/∂bias = Σ ∂L/∂z.
 */

export const ATTENTION_SOFTMAX = 'TaskscopeAttentionSoftmax';
/** ∂L/∂s of ATTENTION_SOFTMAX from y and dy (attr divisor): optional, the gradient falls back to tfjs ops without it. */
export const ATTENTION_SOFTMAX_GRAD = 'TaskscopeAttentionSoftmaxGrad';

/** scores [B·A·T, T] unscaled q·kᵀ rows; bias [B, T]; the rows of batch b are b·rowsPerBatch … (b+1)·rowsPerBatch − 1. */
export interface AttentionSoftmaxAttrs {
  divisor: number;
  rowsPerBatch: number;
}

function has(name: string): boolean {
  return tf.getKernel(name, tf.getBackend()) !== undefined;
}

/** softmax(q·kᵀ/√d + bias): q, k [B·A, T, d], bias [B, 1, 1, T] → probs [B, A, T, T]. */
export function attentionProbs(q: tf.Tensor3D, k: tf.Tensor3D, bias: tf.Tensor4D, heads: number): tf.Tensor4D {
  const [BA, T, d] = q.shape;
  const B = BA / heads;
  if (!has(ATTENTION_SOFTMAX)) return tf.softmax(tf.add(tf.reshape(attentionScores(q, k, d), [B, heads, T, T]), bias)) as tf.Tensor4D;
  return tf.tidy(() => {
    const scores = tf.reshape(tf.matMul(q, k, false, true), [BA * T, T]);
    const attrs: AttentionSoftmaxAttrs = { divisor: Math.sqrt(d), rowsPerBatch: heads * T };
    const probs = tf.engine().runKernel(ATTENTION_SOFTMAX, { scores, bias: tf.reshape(bias, [B, T]) }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor;
    return tf.reshape(probs, [B, heads, T, T]);
  });
}

/** ∂L/∂z = y ⊙ (dy − Σ_row dy ⊙ y), as tfjs's own Softmax gradient computes it. */
function softmaxGrad(y: tf.Tensor, dy: tf.Tensor): tf.Tensor {
  const dyTimesY = tf.mul(dy, y);
  return tf.sub(dyTimesY, tf.mul(tf.sum(dyTimesY, -1, true), y));
}

/** Registers the gradient of ATTENTION_SOFTMAX (idempotent). */
export function registerAttentionSoftmaxGradient(): void {
  registerGradientOnce({
    kernelName: ATTENTION_SOFTMAX,
    outputsToSave: [true],
    gradFunc: (dy, saved, attrs) => {
      const [y] = saved as [tf.Tensor2D];
      const { divisor, rowsPerBatch } = attrs as unknown as AttentionSoftmaxAttrs;
      const g = dy as tf.Tensor2D;
      const T = y.shape[1];
      return {
        scores: () => {
          if (has(ATTENTION_SOFTMAX_GRAD))
            return tf.engine().runKernel(ATTENTION_SOFTMAX_GRAD, { y, dy: g }, { divisor } as unknown as tf.NamedAttrMap) as tf.Tensor;
          return tf.div(softmaxGrad(y, g), divisor);
        },
        bias: () => tf.sum(tf.reshape(softmaxGrad(y, g), [-1, rowsPerBatch, T]), 1),
      };
    },
  });
}
