import * as tf from '@tensorflow/tfjs';

/**
 * The bias-corrected Adam(W) update of adam.ts as one kernel with three outputs (m′, v′, θ′). tfjs runs the
 * composition as ~15 element-wise dispatches per parameter, each with its scalar operands uploaded; a backend
 * may register this kernel (workers/webgpuAdamKernel.ts on webgpu) to do it in three, with the scalars as
 * uniforms. adam.ts uses it only where one is registered. The scalars are passed as the float32 values the
 * generic path's scalar tensors hold, and the arithmetic follows its order:
 *   θ₀ = θ − θ·decay (when decay > 0);  m′ = m·β₁ + g·(1 − β₁);  v′ = v·β₂ + g²·(1 − β₂);
 *   θ′ = θ₀ − (m′ / (√v′ / √bc₂ + ε))·stepSize
 */

export const FUSED_ADAM_STEP = 'TaskscopeAdamStep';

export interface AdamStepAttrs {
  beta1: number;
  beta2: number;
  eps: number;
  /** √(1 − β₂ᵗ) */
  sqrtBc2: number;
  /** lr / (1 − β₁ᵗ) */
  stepSize: number;
  /** lr·wd (AdamW's decoupled decay), 0 for none. */
  decay: number;
}

export function hasFusedAdam(): boolean {
  return tf.getKernel(FUSED_ADAM_STEP, tf.getBackend()) !== undefined;
}

/** One Adam(W) update of θ with gradient g and moments m, v (all float32, one shape) → [m′, v′, θ′]. */
export function fusedAdamStep(theta: tf.Tensor, grad: tf.Tensor, m: tf.Tensor, v: tf.Tensor, attrs: AdamStepAttrs): [tf.Tensor, tf.Tensor, tf.Tensor] {
  return tf.engine().runKernel(FUSED_ADAM_STEP, { theta, grad, m, v }, attrs as unknown as tf.NamedAttrMap) as unknown as [tf.Tensor, tf.Tensor, tf.Tensor];
}
