/**
 * Plain float64 implementations of each optimiser's update for one parameter, written straight from the
 * originals' PyTorch code (docs/methods.md §1.7, §2.5, §5.2; torch.optim.Adam/AdamW). The tfjs optimisers are tested
 * against these; nothing in training uses them.
 */
import type { OptimizerKind } from '../../src/engine/train/optim/types.ts';

export interface RefHyper {
  beta1: number;
  beta2: number;
  eps: number;
  /** The effective decay for this parameter (0 outside the decay group). */
  weightDecay: number;
  /** Per-parameter clip norm, 0 = off. */
  maxGradNorm: number;
}

/** One parameter's values and slots (both slots start at zero; step = updates done). */
export interface RefParam {
  theta: Float64Array;
  s1: Float64Array;
  s2: Float64Array;
  step: number;
}

export function refParam(theta: ArrayLike<number>): RefParam {
  const n = theta.length;
  return { theta: Float64Array.from(theta), s1: new Float64Array(n), s2: new Float64Array(n), step: 0 };
}

export const REF_DEFAULTS: Record<OptimizerKind, RefHyper> = {
  adamax: { beta1: 0.9, beta2: 0.999, eps: 1e-6, weightDecay: 0.01, maxGradNorm: 0 },
  bertadam: { beta1: 0.9, beta2: 0.999, eps: 1e-6, weightDecay: 0.01, maxGradNorm: 1 },
  adam: { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, maxGradNorm: 0 },
  adamw: { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01, maxGradNorm: 0 },
  radam: { beta1: 0.9, beta2: 0.999, eps: 1e-6, weightDecay: 0.01, maxGradNorm: 0 },
};

/** torch clip_grad_norm_ on one tensor. */
function clip(g: ArrayLike<number>, maxNorm: number): Float64Array {
  const out = Float64Array.from(g);
  if (maxNorm <= 0) return out;
  let sq = 0;
  for (const x of out) sq += x * x;
  const coef = maxNorm / (Math.sqrt(sq) + 1e-6);
  if (coef < 1) for (let i = 0; i < out.length; i++) out[i] *= coef;
  return out;
}

export function refAdamax(p: RefParam, grad: ArrayLike<number>, lr: number, h: RefHyper): void {
  const g = clip(grad, h.maxGradNorm);
  for (let i = 0; i < g.length; i++) {
    p.s1[i] = h.beta1 * p.s1[i] + (1 - h.beta1) * g[i];
    p.s2[i] = Math.max(h.beta2 * p.s2[i], Math.abs(g[i]) + h.eps);
    let upd = p.s1[i] / (p.s2[i] + h.eps);
    if (h.weightDecay > 0) upd += h.weightDecay * p.theta[i];
    p.theta[i] -= lr * upd;
  }
  p.step += 1;
}

export function refBertAdam(p: RefParam, grad: ArrayLike<number>, lr: number, h: RefHyper): void {
  const g = clip(grad, h.maxGradNorm);
  for (let i = 0; i < g.length; i++) {
    p.s1[i] = h.beta1 * p.s1[i] + (1 - h.beta1) * g[i];
    p.s2[i] = h.beta2 * p.s2[i] + (1 - h.beta2) * g[i] * g[i];
    let upd = p.s1[i] / (Math.sqrt(p.s2[i]) + h.eps);
    if (h.weightDecay > 0) upd += h.weightDecay * p.theta[i];
    p.theta[i] -= lr * upd;
  }
  p.step += 1;
}

/** torch.optim.Adam (decoupled = false, weightDecay must be 0) or AdamW (decoupled = true). */
function refAdamCore(p: RefParam, grad: ArrayLike<number>, lr: number, h: RefHyper, decoupled: boolean): void {
  const g = clip(grad, h.maxGradNorm);
  const t = p.step + 1;
  const bc1 = 1 - h.beta1 ** t;
  const bc2 = 1 - h.beta2 ** t;
  for (let i = 0; i < g.length; i++) {
    if (decoupled && h.weightDecay > 0) p.theta[i] *= 1 - lr * h.weightDecay;
    p.s1[i] = h.beta1 * p.s1[i] + (1 - h.beta1) * g[i];
    p.s2[i] = h.beta2 * p.s2[i] + (1 - h.beta2) * g[i] * g[i];
    const denom = Math.sqrt(p.s2[i]) / Math.sqrt(bc2) + h.eps;
    p.theta[i] -= (lr / bc1) * (p.s1[i] / denom);
  }
  p.step = t;
}

export function refAdam(p: RefParam, grad: ArrayLike<number>, lr: number, h: RefHyper): void {
  if (h.weightDecay !== 0) throw new Error('refAdam has no weight decay (use refAdamW)');
  refAdamCore(p, grad, lr, h, false);
}

export function refAdamW(p: RefParam, grad: ArrayLike<number>, lr: number, h: RefHyper): void {
  refAdamCore(p, grad, lr, h, true);
}

/** MT-DNN's RAdam (module/bert_optim.py): rectify when ρ_t >= 5, weight decay after the step. */
export function refRAdam(p: RefParam, grad: ArrayLike<number>, lr: number, h: RefHyper): void {
  const g = clip(grad, h.maxGradNorm);
  const t = p.step + 1;
  const beta2t = h.beta2 ** t;
  const rhoInf = 2 / (1 - h.beta2) - 1;
  const rho = rhoInf - (2 * t * beta2t) / (1 - beta2t);
  const rectified = rho >= 5;
  const stepSize = rectified
    ? (lr * Math.sqrt(((((((1 - beta2t) * (rho - 4)) / (rhoInf - 4)) * (rho - 2)) / rho) * rhoInf) / (rhoInf - 2))) / (1 - h.beta1 ** t)
    : lr / (1 - h.beta1 ** t);
  for (let i = 0; i < g.length; i++) {
    p.s1[i] = h.beta1 * p.s1[i] + (1 - h.beta1) * g[i];
    p.s2[i] = h.beta2 * p.s2[i] + (1 - h.beta2) * g[i] * g[i];
    if (rectified) p.theta[i] -= (stepSize * p.s1[i]) / (Math.sqrt(p.s2[i]) + h.eps);
    else p.theta[i] -= stepSize * p.s1[i];
    if (h.weightDecay !== 0) p.theta[i] -= h.weightDecay * lr * p.theta[i];
  }
  p.step = t;
}

export const REF_STEP: Record<OptimizerKind, (p: RefParam, grad: ArrayLike<number>, lr: number, h: RefHyper) => void> = {
  adamax: refAdamax,
  bertadam: refBertAdam,
  adam: refAdam,
  adamw: refAdamW,
  radam: refRAdam,
};

/** The step each original feeds its schedule (see LearningRate in types.ts). */
export function refScheduleStep(kind: OptimizerKind, stepBefore: number, globalStepBefore: number): number {
  if (kind === 'radam') return stepBefore + 1;
  if (kind === 'adam' || kind === 'adamw') return globalStepBefore;
  return stepBefore;
}
