import { BatchReader } from '../../data/batchReader.ts';
import type { LoadedSplit } from '../../data/shardReader.ts';
import type { Experiment } from '../../experiment/experimentSchema.ts';
import { Rng } from '../../runtime/rng.ts';
import { SiwlmAlphaCounter } from '../../train/sampling/siwlm.ts';
import { epochTaskOrder, type ScheduleContext } from '../../train/taskScheduler.ts';
import { runTaskOrder, trainReaderSeed } from '../../train/trainer.ts';

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
 * The first `count` micro-batches the Taskscope trainer draws for this experiment, seed and training data: the
 * epoch task order from the sampler (MT-DNN, SIWLM, annealed, …), each task's seeded batch reader, and the SIWLM
 * weights. It walks the same generators in the same order as `Trainer` (src/engine/train/trainer.ts), so an
 * exported trainer that replays the plan sees exactly Taskscope's batches; tests check the two agree.
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
  const readers = tasks.map((t, i) => new BatchReader([splits[i]], { batchSize: exp.batchSize, seed: trainReaderSeed(exp.seed, t.name), plan: exp.batches }));
  const weights = tasks.map((t, i) => (!exp.siwlm.enabled ? 1 : i === 0 ? exp.siwlm.centralWeight : t.weight));
  const siwlm = exp.siwlm.enabled && exp.siwlm.alternation ? new SiwlmAlphaCounter(tasks.length) : null;
  const ctx: ScheduleContext = {
    taskNames: tasks.map((t) => t.name),
    batchCounts: readers.map((r) => r.batchesPerEpoch),
    sizes: splits.map((s) => s.rows),
    totalEpochs: Math.max(1, Math.ceil(exp.epochs)),
  };
  const rng = new Rng(`${exp.seed}/sampler`);
  let epoch = 0;
  let order = epochTaskOrder(exp.sampler, ctx, 0, rng);
  siwlm?.startEpoch(0);
  let position = 0;
  const out: PlannedMicroBatch[] = [];
  while (out.length < count) {
    if (position >= order.length) {
      epoch++;
      order = epochTaskOrder(exp.sampler, ctx, epoch, rng);
      position = 0;
      siwlm?.startEpoch(epoch);
    }
    // As Trainer.trainStep: the sampled modes keep one task for all micro-batches of an optimiser step.
    const stepStart = out.length % exp.gradAccumulation === 0;
    const entry = order[position++];
    const task = stepStart || exp.sampler.kind === 'mtdnn' ? entry : out[out.length - 1].task;
    const batch = readers[task].next();
    const weight = weights[task] * (siwlm ? siwlm.next(task) : 1);
    out.push({ task, rows: batch.uids.map((u) => rowOf[task].get(u)!), weight, epoch, epochEnd: position === order.length });
  }
  return out;
}
