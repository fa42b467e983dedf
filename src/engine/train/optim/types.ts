import type * as tf from '@tensorflow/tfjs';
import type { NamedTensor } from '../../checkpoint/types.ts';

/** A trainable parameter under its canonical checkpoint name (the name drives the weight-decay groups). */
export interface TrainableParam {
  name: string;
  variable: tf.Variable;
}

/** Gradients keyed by parameter name. A parameter missing from the map "has no gradient" this step. */
export type GradMap = Record<string, tf.Tensor> | Map<string, tf.Tensor>;

/**
 * Either the scheduled rate itself, or a function of the step the original optimiser feeds its schedule:
 * the parameter's own update count before this update for Adamax/BERTAdam (state['step']/t_total), after it
 * for MT-DNN's RAdam, and the global step count for Adam/AdamW (torch LR schedulers).
 */
export type LearningRate = number | ((scheduleStep: number) => number);

export type OptimizerKind = 'adamax' | 'adam' | 'adamw' | 'bertadam' | 'radam';

/**
 * Which parameters get weight decay:
 * 'no-bias-norm' = the yml-era MT-DNN / EmBERT groups (none for names containing bias, LayerNorm, gamma, beta);
 * 'all' = MT-DNN v1 (its groups set a key the optimiser never reads, so 0.01 applies everywhere, docs/methods.md §7.6).
 */
export type DecayFilter = 'no-bias-norm' | 'all' | ((paramName: string) => boolean);

/**
 * What a parameter without a gradient does:
 * 'zero-after-first' = PyTorch 1.x, whose zero_grad() leaves zero gradients: a parameter is skipped until it
 *   first gets a gradient, then steps every time (momentum and weight decay keep moving it). The originals ran
 *   on PyTorch 1.x, so this is the faithful default.
 * 'skip' = PyTorch 2 (grads set to None): no update and no step count.
 */
export type MissingGradPolicy = 'zero-after-first' | 'skip';

export interface CommonOptimizerOptions {
  beta1?: number;
  beta2?: number;
  eps?: number;
  weightDecay?: number;
  decayFilter?: DecayFilter;
  /** Per-parameter gradient clipping to this L2 norm inside step (torch clip_grad_norm_(p, max)); 0 = off. */
  maxGradNorm?: number;
  missingGrad?: MissingGradPolicy;
}

/** Serializable optimiser state (for checkpoints and resume). Slots are named `${param}:${slot}`. */
export interface OptimizerState {
  kind: OptimizerKind;
  /** Number of step() calls. */
  step: number;
  /** Per-parameter update counts (torch's state['step']); parameters never updated are absent. */
  paramSteps: Record<string, number>;
  slots: NamedTensor[];
}
