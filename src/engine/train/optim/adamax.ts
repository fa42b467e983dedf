import * as tf from '@tensorflow/tfjs';
import { SlotOptimizer, type UpdateInput } from './slotOptimizer.ts';
import type { CommonOptimizerOptions, OptimizerKind, TrainableParam } from './types.ts';

/**
 * MT-DNN's Adamax (`module/bert_optim.py`, docs/methods.md §1.7): no bias correction, ε both inside the max and in the
 * denominator, decoupled weight decay added to the update before the learning rate:
 *   m ← β₁m + (1−β₁)g;  u ← max(β₂u, |g| + ε);  θ ← θ − lr·(m/(u + ε) + wd·θ)
 * Defaults are the yml era's: β = (0.9, 0.999), ε = 1e-6, wd 0.01 outside bias/LayerNorm, no per-parameter
 * clipping (--grad_clipping 0 in every script).
 */
export class Adamax extends SlotOptimizer {
  readonly kind: OptimizerKind = 'adamax';
  protected readonly slotNames = ['exp_avg', 'exp_inf'] as const;

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

  /** The original reads state['step'] / t_total before incrementing it. */
  protected scheduleStep(stepBefore: number): number {
    return stepBefore;
  }

  protected update({ theta, grad, slots: [m, u], lr, weightDecay, scalar: c }: UpdateInput): void {
    const mNew = tf.add(tf.mul(m, c(this.beta1)), tf.mul(grad, c(1 - this.beta1)));
    const uNew = tf.maximum(tf.mul(u, c(this.beta2)), tf.add(tf.abs(grad), c(this.eps)));
    let upd = tf.div(mNew, tf.add(uNew, c(this.eps)));
    if (weightDecay > 0) upd = tf.add(upd, tf.mul(theta, c(weightDecay)));
    theta.assign(tf.sub(theta, tf.mul(upd, c(lr))));
    m.assign(mNew);
    u.assign(uNew);
  }
}
