import type { Experiment } from '../experiment/experimentSchema.ts';

/**
 * Experiment fields that may change between a save and a resume without changing the run's arithmetic.
 * `model` is not one of them: where both states carry the initial weights' checksum the weights are compared
 * instead of the entry (a model folder may move); `name` is not either, as the checkpoint's experiment.json
 * would name another experiment than the one trained.
 */
const RESUME_FREE_FIELDS = ['evalEvery', 'checkpointEvery', 'backend', 'evalBatchSize', 'data'] as const;

/** The experiment fields (and `initial weights`) in which a saved state differs from this run; [] = resumable. */
export function resumeDifferences(
  saved: { experiment: Experiment; initialModelChecksum?: string },
  now: { experiment: Experiment; initialModelChecksum?: string },
): string[] {
  const a = saved.experiment as Record<string, unknown>;
  const b = now.experiment as Record<string, unknown>;
  const byChecksum = saved.initialModelChecksum !== undefined && now.initialModelChecksum !== undefined;
  const differ = Object.keys({ ...a, ...b }).filter(
    (k) => !(RESUME_FREE_FIELDS as readonly string[]).includes(k) && !(byChecksum && k === 'model') && JSON.stringify(a[k]) !== JSON.stringify(b[k]),
  );
  if (byChecksum && saved.initialModelChecksum !== now.initialModelChecksum) {
    differ.push(`model (initial weights ${saved.initialModelChecksum!.slice(0, 12)}… saved, ${now.initialModelChecksum!.slice(0, 12)}… now)`);
  }
  return differ;
}
