import * as tf from '@tensorflow/tfjs';
import { registerGradientOnce } from './registerGradientOnce.ts';

/**
 * Inverted dropout as one kernel: y = x · ⌊r + p⌋ / p with r ~ U[0, 1) and keep probability p = 1 − rate,
 * the arithmetic of tf.dropout (tfjs-core ops/dropout.ts), which runs it as Add, Floor, Div and Mul with two
 * scalar uploads on webgpu. The uniform draw is tfjs's own randomUniform with the same seed, so the mask is the
 * one tf.dropout draws on every backend. A backend registers the kernel (workers/webgpuKernels.ts on webgpu);
 * ops.ts uses it only there. The gradient is the same kernel applied to dy: ∂y/∂x = ⌊r + p⌋ / p.
 */

export const FUSED_DROPOUT = 'TaskscopeDropout';

/** x (float32) with `rate` of its entries zeroed and the rest scaled by 1/(1 − rate). Only where FUSED_DROPOUT is registered. */
export function fusedDropout(x: tf.Tensor, rate: number, seed?: number): tf.Tensor {
  return tf.tidy(() => {
    const r = tf.randomUniform(x.shape, 0, 1, 'float32', seed);
    return tf.engine().runKernel(FUSED_DROPOUT, { x, r }, { keepProb: 1 - rate } as unknown as tf.NamedAttrMap) as tf.Tensor;
  });
}

/** Registers the gradient of FUSED_DROPOUT (idempotent). */
export function registerFusedDropoutGradient(): void {
  registerGradientOnce({
    kernelName: FUSED_DROPOUT,
    inputsToSave: ['r'],
    gradFunc: (dy, saved, attrs) => {
      const [r] = saved as [tf.Tensor];
      return {
        x: () => tf.engine().runKernel(FUSED_DROPOUT, { x: dy as tf.Tensor, r }, attrs) as tf.Tensor,
        r: () => tf.zerosLike(r),
      };
    },
  });
}
