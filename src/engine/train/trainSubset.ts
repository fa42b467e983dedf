import type { LoadedSplit } from '../data/shardReader.ts';
import { Rng } from '../runtime/rng.ts';
import type { Experiment } from '../experiment/experimentSchema.ts';
import { subsetSplit } from './memorySplit.ts';

type TaskEntry = Experiment['tasks'][number];

/**
 * The training rows a task entry asks for: a seeded random `trainFraction` of the split (MT-DNN's domain
 * adaptation uses 0.1 %, 1 %, 10 % subsets), kept in file order, then the first `maxTrainRows`.
 */
export function trainRowsFor(split: LoadedSplit, entry: Pick<TaskEntry, 'name' | 'trainFraction' | 'maxTrainRows'>, seed: number): LoadedSplit {
  let rows = Array.from({ length: split.rows }, (_, i) => i);
  if (entry.trainFraction < 1) {
    const k = Math.max(1, Math.round(split.rows * entry.trainFraction));
    rows = new Rng(`${seed}/fraction/${entry.name}`).sample(rows, k).sort((a, b) => a - b);
  }
  if (entry.maxTrainRows !== undefined && entry.maxTrainRows < rows.length) rows = rows.slice(0, entry.maxTrainRows);
  return rows.length === split.rows ? split : subsetSplit(split, rows);
}

/**
 * Splits `thresholdHoldout` of a task's training rows off (seeded, each part kept in file order): the trainer
 * trains on `train` and chooses the F1 decision threshold on `holdout`. No fraction: the split unchanged.
 */
export function splitThresholdHoldout(
  split: LoadedSplit,
  entry: Pick<TaskEntry, 'name' | 'thresholdHoldout'>,
  seed: number,
): { train: LoadedSplit; holdout?: LoadedSplit } {
  const fraction = entry.thresholdHoldout ?? 0;
  if (fraction <= 0) return { train: split };
  const k = Math.round(split.rows * fraction);
  if (k < 1 || k >= split.rows) {
    throw new Error(
      `${entry.name}: thresholdHoldout ${fraction} of ${split.rows} training rows leaves ${k} for the holdout and ${split.rows - k} for training; both need at least one`,
    );
  }
  const all = Array.from({ length: split.rows }, (_, i) => i);
  const held = new Rng(`${seed}/threshold-holdout/${entry.name}`).sample(all, k).sort((a, b) => a - b);
  const isHeld = new Uint8Array(split.rows);
  for (const i of held) isHeld[i] = 1;
  return {
    train: subsetSplit(
      split,
      all.filter((i) => !isHeld[i]),
    ),
    holdout: subsetSplit(split, held),
  };
}
