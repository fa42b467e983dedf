import * as tf from '@tensorflow/tfjs';
import { SlotOptimizer, type UpdateInput } from './slotOptimizer.ts';
import type { CommonOptimizerOptions, OptimizerKind, TrainableParam } from './types.ts';

/** Liu et al.'s length of the approximated SMA, ρ_t, and its limit ρ_∞ = 2/(1−β₂) − 1. */
export function radamRho(beta2: number, t: number): { rho: number; rhoInf: number } {
  const beta2t = beta2 ** t;
  const rhoInf = 2 / (1 - beta2) - 1;
  return { rho: rhoInf - (2 * t * beta2t) / (1 - beta2t), rhoInf };
}

/** MT-DNN rectifies when ρ_t >= 5 (torch.optim.RAdam uses ρ_t > 5; the two differ only when ρ_t is exactly 5). */
export const RADAM_RHO_THRESHOLD = 5;

/**
 * RAdam as in MT-DNN's `module/bert_optim.py` (yml era; SIWLM fine-tuning, docs/methods.md §2.5), which is Liu's radam.py
 * with a schedule. With t = step + 1 and lr read from the schedule at t (after the increment):
 *   m ← β₁m + (1−β₁)g;  v ← β₂v + (1−β₂)g²
 *   ρ_t >= 5: θ ← θ − lr·r_t/(1−β₁ᵗ) · m/(√v + ε),  r_t = √((1−β₂ᵗ)(ρ_t−4)(ρ_t−2)ρ_∞ / ((ρ_∞−4)(ρ_∞−2)ρ_t))
 *   otherwise: θ ← θ − lr/(1−β₁ᵗ) · m            (un-adapted momentum step)
 *   then, if wd ≠ 0: θ ← θ − wd·lr·θ             (decoupled, applied to the already updated θ)
 * Defaults: β = (0.9, 0.999), ε = 1e-6 (--adam_eps), wd 0.01 outside bias/LayerNorm, no per-parameter clip.
 */
export class RAdam extends SlotOptimizer {
  readonly kind: OptimizerKind = 'radam';
  protected readonly slotNames = ['exp_avg', 'exp_avg_sq'] as const;

  constructor(params: readonly TrainableParam[], opts: CommonOptimizerOptions = {}) {
    super(params, opts, {
      beta1: 0.9,
      beta2: 0.999,
      eps: 1e-6,
      weightDecay: 0.01,
      decayFilter: 'no-bias-norm',
      maxGradNorm: 0,
      missingGrad: 'zero-after-first',
    });
  }

  /** The original increments state['step'] and then reads the schedule. */
  protected scheduleStep(stepBefore: number): number {
    return stepBefore + 1;
  }

  protected update({ theta, grad, slots: [m, v], lr, stepBefore, weightDecay, scalar: c }: UpdateInput): void {
    const t = stepBefore + 1;
    const mNew = tf.add(tf.mul(m, c(this.beta1)), tf.mul(grad, c(1 - this.beta1)));
    const vNew = tf.add(tf.mul(v, c(this.beta2)), tf.mul(tf.square(grad), c(1 - this.beta2)));
    const { rho, rhoInf } = radamRho(this.beta2, t);
    const bc1 = 1 - this.beta1 ** t;
    let next: tf.Tensor;
    if (rho >= RADAM_RHO_THRESHOLD) {
      const rect = Math.sqrt(((((((1 - this.beta2 ** t) * (rho - 4)) / (rhoInf - 4)) * (rho - 2)) / rho) * rhoInf) / (rhoInf - 2));
      next = tf.sub(theta, tf.mul(tf.div(mNew, tf.add(tf.sqrt(vNew), c(this.eps))), c((lr * rect) / bc1)));
    } else {
      next = tf.sub(theta, tf.mul(mNew, c(lr / bc1)));
    }
    // θ − θ·(wd·lr), not θ·(1 − wd·lr), whose float32 factor would lose most of the decay's digits.
    if (weightDecay !== 0) next = tf.sub(next, tf.mul(next, c(weightDecay * lr)));
    theta.assign(next);
    m.assign(mNew);
    v.assign(vNew);
  }
}
