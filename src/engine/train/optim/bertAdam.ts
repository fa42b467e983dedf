import * as tf from '@tensorflow/tfjs';
import { SlotOptimizer, type UpdateInput } from './slotOptimizer.ts';
import type { CommonOptimizerOptions, OptimizerKind, TrainableParam } from './types.ts';

/**
 * BERTAdam of pytorch-pretrained-BERT 0.4 as used by Bert-n-Pals and EmBERT (docs/methods.md §5.2): no bias correction,
 *   g ← clip(g, 1.0) per parameter;  m ← β₁m + (1−β₁)g;  v ← β₂v + (1−β₂)g²;
 *   θ ← θ − lr·(m/(√v + ε) + wd·θ)
 * Defaults: β = (0.9, 0.999), ε = 1e-6, wd 0.01 outside bias/gamma/beta (LayerNorm), per-parameter clip 1.0.
 */
export class BertAdam extends SlotOptimizer {
  readonly kind: OptimizerKind = 'bertadam';
  protected readonly slotNames = ['next_m', 'next_v'] as const;

  constructor(params: readonly TrainableParam[], opts: CommonOptimizerOptions = {}) {
    super(params, opts, {
      beta1: 0.9,
      beta2: 0.999,
      eps: 1e-6,
      weightDecay: 0.01,
      decayFilter: 'no-bias-norm',
      maxGradNorm: 1.0,
      missingGrad: 'zero-after-first',
    });
  }

  /** The original reads state['step'] / t_total before incrementing it. */
  protected scheduleStep(stepBefore: number): number {
    return stepBefore;
  }

  protected update({ theta, grad, slots: [m, v], lr, weightDecay, scalar: c }: UpdateInput): void {
    const mNew = tf.add(tf.mul(m, c(this.beta1)), tf.mul(grad, c(1 - this.beta1)));
    const vNew = tf.add(tf.mul(v, c(this.beta2)), tf.mul(tf.square(grad), c(1 - this.beta2)));
    let upd = tf.div(mNew, tf.add(tf.sqrt(vNew), c(this.eps)));
    if (weightDecay > 0) upd = tf.add(upd, tf.mul(theta, c(weightDecay)));
    theta.assign(tf.sub(theta, tf.mul(upd, c(lr))));
    m.assign(mNew);
    v.assign(vNew);
  }
}
