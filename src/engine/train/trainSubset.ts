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
