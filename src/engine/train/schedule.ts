/**
 * Learning-rate multipliers of the originals (docs/methods.md §1.7, §5.2). `x` is the fraction of training done
 * (step / t_total) and `warmup` the warmup fraction, as in pytorch-pretrained-bert.
 */

/** pytorch-pretrained-bert 0.6 (MT-DNN): x/w, then a straight line down to 0 at x = 1. */
export function warmupLinear(x: number, warmup = 0.002): number {
  if (x < warmup) return x / warmup;
  return Math.max((x - 1) / (warmup - 1), 0);
}

/** pytorch-pretrained-bert 0.4 (Bert-n-Pals, EmBERT): x/w, then 1 − x (so it drops from 1 to 1 − w at x = w). */
export function warmupLinearOld(x: number, warmup = 0.002): number {
  if (x < warmup) return x / warmup;
  return 1 - x;
}

export function warmupConstant(x: number, warmup = 0.002): number {
  return x < warmup ? x / warmup : 1;
}

export function warmupCosine(x: number, warmup = 0.002): number {
  return x < warmup ? x / warmup : 0.5 * (1 + Math.cos(Math.PI * x));
}

/**
 * 'warmup_*': the pytorch-pretrained-bert functions above, on x = step / totalSteps.
 * 'linear_hf': transformers' get_linear_schedule_with_warmup (FastMTL's Trainer) in whole steps, with
 *   warmup steps = ceil(warmup · totalSteps) as the Trainer computes them from warmup_ratio.
 * 'constant': the base rate throughout.
 */
export type ScheduleKind = 'warmup_linear' | 'warmup_linear_old' | 'warmup_constant' | 'warmup_cosine' | 'linear_hf' | 'constant';

export const SCHEDULE_KINDS: readonly ScheduleKind[] = ['warmup_linear', 'warmup_linear_old', 'warmup_constant', 'warmup_cosine', 'linear_hf', 'constant'];

export interface ScheduleOptions {
  base: number;
  /** Warmup as a fraction of totalSteps, in [0, 1). */
  warmup: number;
  kind: ScheduleKind;
}

const BERT_SCHEDULES: Record<string, (x: number, w: number) => number> = {
  warmup_linear: warmupLinear,
  warmup_linear_old: warmupLinearOld,
  warmup_constant: warmupConstant,
  warmup_cosine: warmupCosine,
};

/**
 * The learning rate at optimiser step `step` (0-based) of `totalSteps`. totalSteps <= 0 means "no schedule"
 * (t_total = −1 in the originals): the base rate.
 */
export function lrAt(step: number, totalSteps: number, { base, warmup, kind }: ScheduleOptions): number {
  if (!Number.isFinite(base) || base < 0) throw new Error(`lrAt: base learning rate must be finite and >= 0, got ${base}`);
  if (!(warmup >= 0 && warmup < 1)) throw new Error(`lrAt: warmup must be a fraction in [0, 1), got ${warmup}`);
  if (!Number.isFinite(step) || step < 0) throw new Error(`lrAt: step must be >= 0, got ${step}`);
  if (kind === 'constant' || totalSteps <= 0) {
    if (!SCHEDULE_KINDS.includes(kind)) throw new Error(`lrAt: unknown schedule kind '${kind}'`);
    return base;
  }
  if (kind === 'linear_hf') {
    const warmupSteps = Math.ceil(warmup * totalSteps);
    if (step < warmupSteps) return (base * step) / Math.max(1, warmupSteps);
    return base * Math.max(0, (totalSteps - step) / Math.max(1, totalSteps - warmupSteps));
  }
  const f = BERT_SCHEDULES[kind];
  if (!f) throw new Error(`lrAt: unknown schedule kind '${kind}' (expected one of ${SCHEDULE_KINDS.join(', ')})`);
  return base * f(step / totalSteps, warmup);
}
