import type { Rng } from '../runtime/rng.ts';
import type { Experiment } from '../experiment/experimentSchema.ts';
import { EMBERT_TASK_ORDER, EMBERT_TASK_SIZES, annealProbs, mtdnnEpochSchedule, powerProbs, temperatureProbs } from './sampling/index.ts';

export type SamplerConfig = Experiment['sampler'];

export interface ScheduleContext {
  taskNames: readonly string[];
  /** Batches per pass over each task's training split. */
  batchCounts: readonly number[];
  /** Training rows per task (the true sizes that proportional/anneal sampling weighs). */
  sizes: readonly number[];
  /** Whole epochs the run spans (ceil of a fractional epoch count), for annealing. */
  totalEpochs: number;
}

/**
 * Batches in one epoch as the learning-rate schedule counts them: MT-DNN uses Σ batches whatever the ratio
 * (docs/methods.md §1.6: with ratio > 0 its schedule never reaches 0); the sampled modes use stepsPerEpoch, default Σ batches.
 */
export function nominalEpochLength(sampler: SamplerConfig, ctx: ScheduleContext): number {
  const all = ctx.batchCounts.reduce((a, b) => a + b, 0);
  if (sampler.kind === 'mtdnn') return all;
  return sampler.stepsPerEpoch ?? all;
}

function samplingSizes(sampler: SamplerConfig, ctx: ScheduleContext): readonly number[] {
  if (sampler.kind !== 'anneal' || sampler.sizes === 'true') return ctx.sizes;
  // EmBERT/PALs' hard-coded sizes (≈ 78 % of the real ones, docs/methods.md §7.15).
  return ctx.taskNames.map((name) => {
    const i = (EMBERT_TASK_ORDER as readonly string[]).indexOf(name);
    if (i < 0) throw new Error(`sampler.sizes 'original': EmBERT has no hard-coded size for ${name} (it has ${EMBERT_TASK_ORDER.join(', ')})`);
    return EMBERT_TASK_SIZES[i];
  });
}

/** Per-task probabilities of the sampled modes at an epoch. */
export function samplingProbs(sampler: SamplerConfig, ctx: ScheduleContext, epoch: number): number[] {
  const sizes = samplingSizes(sampler, ctx);
  switch (sampler.kind) {
    case 'anneal':
      return annealProbs(sizes, Math.min(epoch, ctx.totalEpochs - 1), ctx.totalEpochs);
    case 'proportional':
      return powerProbs(sizes, 1);
    case 'sqrt':
      return powerProbs(sizes, 0.5);
    case 'uniform':
      return powerProbs(sizes, 0);
    case 'temperature':
      return temperatureProbs(sizes, sampler.temperature);
    case 'mtdnn':
      throw new Error('samplingProbs: the mtdnn sampler has no per-task probabilities');
  }
}

/**
 * One epoch's task ids, one per batch. 'mtdnn' is MT-DNN's schedule (every batch once, mix_opt, ratio; docs/methods.md §1.6);
 * the sampled modes draw each batch's task independently (EmBERT/PALs `--sample`, docs/methods.md §5.2; temperature).
 */
export function epochTaskOrder(sampler: SamplerConfig, ctx: ScheduleContext, epoch: number, rng: Rng): number[] {
  if (ctx.batchCounts.length !== ctx.taskNames.length || ctx.sizes.length !== ctx.taskNames.length) {
    throw new Error('epochTaskOrder: taskNames, batchCounts and sizes must have one entry per task');
  }
  if (sampler.kind === 'mtdnn') return mtdnnEpochSchedule(ctx.batchCounts, { mixOpt: sampler.mixOpt, ratio: sampler.ratio }, rng);
  const probs = samplingProbs(sampler, ctx, epoch);
  const steps = nominalEpochLength(sampler, ctx);
  return Array.from({ length: steps }, () => rng.choiceWeighted(probs));
}
