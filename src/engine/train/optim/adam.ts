import * as tf from '@tensorflow/tfjs';
import { SlotOptimizer, type UpdateInput } from './slotOptimizer.ts';
import { fusedAdamStep, hasFusedAdam } from './fusedAdam.ts';
import type { CommonOptimizerOptions, OptimizerKind, TrainableParam } from './types.ts';

type AdamOptions = Omit<CommonOptimizerOptions, 'weightDecay' | 'decayFilter'>;

/** Moments and the bias-corrected torch.optim.Adam step: θ − (lr/bc₁)·m/(√v/√bc₂ + ε), t = step + 1. */
function adamStep([beta1, beta2, eps]: [number, number, number], theta: tf.Tensor, { grad, slots: [m, v], lr, stepBefore, scalar: c }: UpdateInput): tf.Tensor {
  const t = stepBefore + 1;
  const bc1 = 1 - beta1 ** t;
  const bc2 = 1 - beta2 ** t;
  const mNew = tf.add(tf.mul(m, c(beta1)), tf.mul(grad, c(1 - beta1)));
  const vNew = tf.add(tf.mul(v, c(beta2)), tf.mul(tf.square(grad), c(1 - beta2)));
  const denom = tf.add(tf.div(tf.sqrt(vNew), c(Math.sqrt(bc2))), c(eps));
  m.assign(mNew);
  v.assign(vNew);
  return tf.sub(theta, tf.mul(tf.div(mNew, denom), c(lr / bc1)));
}

/** The same update as one backend kernel where one is registered (fusedAdam.ts); false where none is. */
function fusedUpdate([beta1, beta2, eps]: [number, number, number], { theta, grad, slots: [m, v], lr, stepBefore }: UpdateInput, decay: number): boolean {
  if (!hasFusedAdam()) return false;
  const t = stepBefore + 1;
  const attrs = { beta1, beta2, eps, sqrtBc2: Math.sqrt(1 - beta2 ** t), stepSize: lr / (1 - beta1 ** t), decay };
  const [mNew, vNew, thetaNew] = fusedAdamStep(theta, grad, m, v, attrs);
  m.assign(mNew);
  v.assign(vNew);
  theta.assign(thetaNew);
  return true;
}

/**
 * torch.optim.Adam without weight decay (no L2 term): bias-corrected moments. Defaults β = (0.9, 0.999),
 * ε = 1e-8 (torch and HF Trainer).
 */
export class Adam extends SlotOptimizer {
  readonly kind: OptimizerKind = 'adam';
  protected readonly slotNames = ['exp_avg', 'exp_avg_sq'] as const;

  constructor(params: readonly TrainableParam[], opts: AdamOptions = {}) {
    super(
      params,
      { ...opts, weightDecay: 0, decayFilter: 'all' },
      {
        beta1: 0.9,
        beta2: 0.999,
        eps: 1e-8,
        weightDecay: 0,
        decayFilter: 'all',
        maxGradNorm: 0,
        missingGrad: 'zero-after-first',
      },
    );
  }

  /** torch LR schedulers count optimiser steps globally. */
  protected scheduleStep(_stepBefore: number, globalStepBefore: number): number {
    return globalStepBefore;
  }

  protected update(input: UpdateInput): void {
    if (fusedUpdate([this.beta1, this.beta2, this.eps], input, 0)) return;
    input.theta.assign(adamStep([this.beta1, this.beta2, this.eps], input.theta, input));
  }
}

/**
 * torch.optim.AdamW: decoupled decay θ ← θ·(1 − lr·wd) applied before the bias-corrected Adam step.
 * Defaults β = (0.9, 0.999), ε = 1e-8, wd 0.01 outside bias/LayerNorm.
 */
export class AdamW extends SlotOptimizer {
  readonly kind: OptimizerKind = 'adamw';
  protected readonly slotNames = ['exp_avg', 'exp_avg_sq'] as const;

  constructor(params: readonly TrainableParam[], opts: CommonOptimizerOptions = {}) {
    super(params, opts, {
      beta1: 0.9,
      beta2: 0.999,
      eps: 1e-8,
      weightDecay: 0.01,
      decayFilter: 'no-bias-norm',
      maxGradNorm: 0,
      missingGrad: 'zero-after-first',
    });
  }

  protected scheduleStep(_stepBefore: number, globalStepBefore: number): number {
    return globalStepBefore;
  }

  protected update(input: UpdateInput): void {
    if (fusedUpdate([this.beta1, this.beta2, this.eps], input, input.weightDecay > 0 ? input.lr * input.weightDecay : 0)) return;
    // θ − θ·(lr·wd) rather than θ·(1 − lr·wd): the float32 rounding of 1 − 1e-7 would swamp the decay.
    const decayed = input.weightDecay > 0 ? tf.sub(input.theta, tf.mul(input.theta, input.scalar(input.lr * input.weightDecay))) : input.theta;
    input.theta.assign(adamStep([this.beta1, this.beta2, this.eps], decayed, input));
  }
}
