import type { LoadedSplit } from '../../data/shardReader.ts';
import type { Experiment } from '../../experiment/experimentSchema.ts';
import { MicroBatchSchedule, runTaskOrder } from '../../train/microBatchSchedule.ts';

/** One micro-batch of the run: which task, which of its training rows, the loss weight it gets. */
export interface PlannedMicroBatch {
  /** Index into the run's task order (runTaskOrder). */
  task: number;
  /** Row indices into the task's training split, in the batch's order. */
  rows: number[];
  /** SIWLM task_weight · α, or 1. */
  weight: number;
  /** 0-based epoch the batch belongs to. */
  epoch: number;
  /** The batch is its epoch's last (the trainer evaluates and checkpoints after that step). */
  epochEnd: boolean;
}

/**
 * The first `count` micro-batches the Taskscope trainer draws for this experiment, seed and training data, from
 * the trainer's own MicroBatchSchedule, with each batch's rows as indices into its task's split.
 * `train` must be the rows the trainer trains on (thresholdHoldout rows are not split off here).
 */
export function planMicroBatches(exp: Experiment, train: Readonly<Record<string, LoadedSplit>>, count: number): PlannedMicroBatch[] {
  const tasks = runTaskOrder(exp);
  const splits = tasks.map((t) => {
    const s = train[t.name];
    if (!s) throw new Error(`batch plan: no training rows for task ${t.name}`);
    if (s.rows === 0) throw new Error(`batch plan: the training split of ${t.name} is empty`);
    return s;
  });
  const rowOf = splits.map((s) => {
    const m = new Map<string, number>();
    s.uids.forEach((u, i) => {
      if (m.has(u)) throw new Error(`batch plan: ${s.task}/${s.split} has row id ${u} twice (rows ${m.get(u)} and ${i})`);
      m.set(u, i);
    });
    return m;
  });
  const schedule = new MicroBatchSchedule(exp, splits);
  return Array.from({ length: count }, () => {
    const { taskIdx, batch, weight, epoch, epochEnd } = schedule.next();
    return { task: taskIdx, rows: batch.uids.map((u) => rowOf[taskIdx].get(u)!), weight, epoch, epochEnd };
  });
}
