import { getTask } from '../../../datasets/glueTasks.ts';
import type { SplitName, TaskName } from '../../../datasets/types.ts';
import type { LoadedSplit } from '../data/shardReader.ts';
import type { DataSource, RawExample } from '../data/types.ts';
import type { ExperimentInput } from '../experiment/experimentSchema.ts';
import { memorySplit } from './memorySplit.ts';
import { trainRowsFor } from './trainSubset.ts';

/**
 * Domain adaptation (docs/methods.md §1.13): fine-tune on a fraction of a new domain's training split (SciTail, SNLI) at
 * 0.1 %, 1 %, 10 % and 100 %. MT-DNN downloads pre-made subsets and has no code that makes them; Taskscope
 * makes them from the full split, with the same rule as an experiment's `trainFraction` (trainSubset.ts), so
 * the rows listed here are the rows a run trains on:
 *   - the f-subset is max(1, round(f·n)) rows drawn without replacement by Rng(`<seed>/fraction/<task>`)
 *     (a partial Fisher–Yates), then put back in file order. The same seed gives the same rows;
 *   - the subsets are nested: the draws of the 1 % subset begin with the draws of the 0.1 % one, and so on up
 *     to the full split;
 *   - the seed is the experiment's seed, so runs with different seeds see different rows (MT-DNN's files are
 *     fixed across seeds: to mimic that, keep one seed for the subsets);
 *   - rows are counted after the reader drops unusable ones (SNLI's '-' gold labels).
 */

export const DOMAIN_ADAPTATION_TASKS: readonly TaskName[] = ['SciTail', 'SNLI'];

/** MT-DNN's split suffixes (`scitail_001` = 0.1 %, `_01` = 1 %, `_1` = 10 %, no suffix = full). */
export const DOMAIN_FRACTIONS = [
  { suffix: '001', fraction: 0.001 },
  { suffix: '01', fraction: 0.01 },
  { suffix: '1', fraction: 0.1 },
  { suffix: '', fraction: 1 },
] as const;

function checkFraction(fraction: number): void {
  if (!(fraction > 0 && fraction <= 1)) throw new Error(`domain adaptation: fraction must be in (0, 1], got ${fraction}`);
}

/** Rows in the f-subset of n rows: round(f·n), at least 1. */
export function subsetSize(rows: number, fraction: number): number {
  checkFraction(fraction);
  if (!Number.isInteger(rows) || rows < 1) throw new Error(`domain adaptation: the split has ${rows} rows; a subset needs at least 1`);
  return Math.min(rows, Math.max(1, Math.round(fraction * rows)));
}

/** Which rows a subset draws from: the task's name and the experiment's seed. */
export interface SubsetSeed {
  task: string;
  seed: number;
}

/** Row indices (ascending, file order) of the f-subset of a split with `rows` rows. */
export function subsetIndices(rows: number, fraction: number, s: SubsetSeed): number[] {
  const k = subsetSize(rows, fraction);
  if (k === rows) return Array.from({ length: rows }, (_, i) => i);
  return trainRowsFor(stubSplit(rows), { name: getTask(s.task).name, trainFraction: fraction }, s.seed).uids.map(Number);
}

/** Several fractions' subsets at once (each is the same as subsetIndices'). */
export function nestedSubsetIndices(rows: number, fractions: readonly number[], s: SubsetSeed): Map<number, number[]> {
  return new Map(fractions.map((f) => [f, subsetIndices(rows, f, s)]));
}

/** A split whose uids are its row numbers, so trainRowsFor's choice can be read off as indices. */
function stubSplit(rows: number): LoadedSplit {
  return memorySplit(
    'stub',
    'train',
    Array.from({ length: rows }, (_, i) => ({ ids: [0], uid: String(i) })),
  );
}

/** The f-subset of a tokenized split (what the trainer takes). */
export function subsetLoadedSplit(split: LoadedSplit, fraction: number, seed: number): LoadedSplit {
  checkFraction(fraction);
  return trainRowsFor(split, { name: split.task, trainFraction: fraction }, seed);
}

/**
 * The f-subset of a split straight from a data source, in two streaming passes (count, then pick), so
 * SNLI's 550k rows are never all in memory.
 */
export async function readSubsetExamples(source: DataSource, task: string, split: SplitName, fraction: number, seed: number): Promise<RawExample[]> {
  const def = getTask(task);
  let rows = 0;
  for await (const _ of source.open(def, split)) rows++;
  if (rows === 0) throw new Error(`domain adaptation: ${def.name} ${split} in ${source.describe()} has no usable rows`);
  const keep = new Set(subsetIndices(rows, fraction, { task: def.name, seed }));
  const out: RawExample[] = [];
  let i = 0;
  for await (const ex of source.open(def, split)) if (keep.has(i++)) out.push(ex);
  if (i !== rows) throw new Error(`domain adaptation: ${def.name} ${split} in ${source.describe()} changed between reads (${rows} then ${i} rows)`);
  return out;
}

/**
 * The yml-era `run_domain_adaptation.sh` settings for one subset: fine-tune a linear head with Adamax, lr 5e-5,
 * 3 epochs, batch 8 for the 0.1 % and 1 % subsets and 32 otherwise; the model (the stripped MT-DNN encoder, or
 * plain BERT as the baseline) comes from `base`.
 */
export function domainAdaptationExperiment(base: Omit<ExperimentInput, 'tasks'>, task: TaskName, fraction: number): ExperimentInput {
  checkFraction(fraction);
  if (!DOMAIN_ADAPTATION_TASKS.includes(task))
    throw new Error(`domain adaptation: ${task} is not a domain-adaptation task (${DOMAIN_ADAPTATION_TASKS.join(', ')})`);
  const suffix = DOMAIN_FRACTIONS.find((f) => f.fraction === fraction)?.suffix;
  const name = `${task.toLowerCase()}${suffix ? `_${suffix}` : suffix === '' ? '' : `_${fraction}`}`;
  return {
    epochs: 3,
    batchSize: fraction <= 0.01 ? 8 : 32,
    ...base,
    name: base.name ? `${base.name}/${name}` : name,
    optimizer: { kind: 'adamax', lr: 5e-5, ...base.optimizer },
    tasks: [{ name: task, head: 'linear', trainFraction: fraction }],
  };
}

/**
 * The training rows an experiment task entry asks for (its trainFraction subset, then at most maxTrainRows):
 * trainSubset.ts's rule, so the worker, `taskscope train` and the pipeline train on the same rows.
 */
export function selectTrainRows(split: LoadedSplit, entry: { name: string; trainFraction?: number; maxTrainRows?: number }, seed: number): LoadedSplit {
  return trainRowsFor(split, { name: entry.name, trainFraction: entry.trainFraction ?? 1, maxTrainRows: entry.maxTrainRows }, seed);
}
