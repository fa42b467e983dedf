import { getTask } from '../../../datasets/glueTasks.ts';
import type { SplitName, TaskName } from '../../../datasets/types.ts';
import type { LoadedSplit } from '../data/shardReader.ts';
import type { Experiment } from '../experiment/experimentSchema.ts';
import type { TaskSplits } from './trainer.ts';
import { subsetSplit } from './memorySplit.ts';
import { trainRowsFor } from './trainSubset.ts';

/** A task's split, tokenised and truncated to `maxLength`; null when the data has no such split. */
export type SplitLoader = (task: TaskName, split: SplitName, maxLength: number) => Promise<LoadedSplit | null>;

type TaskEntry = Pick<Experiment['tasks'][number], 'name' | 'maxTrainRows'> & { trainFraction?: number };

/** The dev split a run evaluates on: the task's first labelled one (MNLI: dev_matched); undefined when it has none. */
export function firstLabelledDevSplit(task: string): SplitName | undefined {
  return getTask(task).splits.find((s) => s.labelled && s.name.startsWith('dev'))?.name;
}

export interface RunDataTask {
  task: string;
  /** Rows of the whole training split, and of the part the entry asks for. */
  fullTrainRows: number;
  trainRows: number;
  devSplit?: SplitName;
  devRows?: number;
}

export interface RunDataOptions {
  /** Names the command in the error for a missing training split, e.g. 'select'. */
  label: string;
  /** The tasks in training order; default the experiment's list. */
  tasks?: readonly TaskEntry[];
  /** Keep only the first `devRows` dev rows (0 or absent: all). */
  devRows?: number;
  /** Train on the dev rows when there are any, without reading the training split (analyses of dev only). */
  devAsTrain?: boolean;
  /** Told about each task once its splits are loaded. */
  onTask?(t: RunDataTask): void;
}

const firstRows = (s: LoadedSplit, n: number) =>
  n > 0 && n < s.rows
    ? subsetSplit(
        s,
        Array.from({ length: n }, (_, i) => i),
      )
    : s;

/**
 * A run's data, the same wherever it runs (page worker, `taskscope train`, `pipeline`, `select`, `prune`): per
 * task, the training rows its entry asks for (trainFraction, then maxTrainRows; seeded by the experiment's
 * seed, see trainSubset.ts) and the first labelled dev split.
 */
export async function assembleRunData(exp: Experiment, loadSplit: SplitLoader, opts: RunDataOptions): Promise<Record<string, TaskSplits>> {
  const data: Record<string, TaskSplits> = {};
  for (const entry of opts.tasks ?? exp.tasks) {
    const task = entry.name as TaskName;
    const devSplit = firstLabelledDevSplit(task);
    const devAll = devSplit ? await loadSplit(task, devSplit, exp.maxLength) : null;
    const dev = devAll ? firstRows(devAll, opts.devRows ?? 0) : undefined;
    const full = opts.devAsTrain && dev ? dev : await loadSplit(task, 'train', exp.maxLength);
    if (!full) throw new Error(`${opts.label}: the data has no ${task} train split`);
    const train =
      opts.devAsTrain && dev
        ? dev
        : trainRowsFor(full, { name: entry.name, trainFraction: entry.trainFraction ?? 1, maxTrainRows: entry.maxTrainRows }, exp.seed);
    data[entry.name] = { train, dev };
    opts.onTask?.({ task: entry.name, fullTrainRows: full.rows, trainRows: train.rows, devSplit: dev ? devSplit : undefined, devRows: dev?.rows });
  }
  return data;
}
