import type { Rng } from '../../runtime/rng.ts';

export interface MtdnnMixOptions {
  /** > 0: auxiliary batches first (shuffled), then all of task 0's; 0: shuffle everything. */
  mixOpt: number;
  /** > 0 (with more than one task): all n₀ task-0 batches plus min(n₀·ratio, Σ aux) auxiliary ones. */
  ratio: number;
}

function checkCounts(batchCounts: readonly number[]): void {
  if (batchCounts.length === 0) throw new Error('mtdnnEpochSchedule: batchCounts is empty (no training task)');
  batchCounts.forEach((n, t) => {
    if (!Number.isInteger(n) || n < 0) throw new Error(`mtdnnEpochSchedule: batchCounts[${t}] must be an integer >= 0, got ${n}`);
  });
}

/**
 * One epoch's task order, one task id per batch (MT-DNN `train.py` v1 and `MultiTaskBatchSampler._gen_task_indices`
 * of the yml era, docs/methods.md §1.6). Task 0 is the first training dataset.
 */
export function mtdnnEpochSchedule(batchCounts: readonly number[], { mixOpt, ratio }: MtdnnMixOptions, rng: Rng): number[] {
  checkCounts(batchCounts);
  if (!(ratio >= 0) || !Number.isFinite(ratio)) throw new Error(`mtdnnEpochSchedule: ratio must be a finite number >= 0, got ${ratio}`);
  if (!Number.isFinite(mixOpt)) throw new Error(`mtdnnEpochSchedule: mixOpt must be a number, got ${mixOpt}`);
  const aux: number[] = [];
  for (let t = 1; t < batchCounts.length; t++) for (let i = 0; i < batchCounts[t]; i++) aux.push(t);
  const main: number[] = new Array(batchCounts[0]).fill(0);
  let order: number[];
  if (batchCounts.length > 1 && ratio > 0) {
    const picks = Math.floor(Math.min(batchCounts[0] * ratio, aux.length));
    const extra = rng.sample(aux, picks);
    // The original shuffles the (already random) draw again when mix_opt > 0; kept so the stream is consumed alike.
    if (mixOpt > 0) rng.shuffle(extra);
    order = extra.concat(main);
  } else {
    if (mixOpt > 0) rng.shuffle(aux);
    order = aux.concat(main);
  }
  if (mixOpt < 1) rng.shuffle(order);
  return order;
}

/** The yml-era batch order inside one task: batch indices 0..count−1 shuffled once, then reused every epoch. */
export function fixedBatchOrder(count: number, rng: Rng): number[] {
  if (!Number.isInteger(count) || count < 0) throw new Error(`fixedBatchOrder: count must be an integer >= 0, got ${count}`);
  return rng.shuffle(Array.from({ length: count }, (_, i) => i));
}

export interface ScheduledBatch {
  task: number;
  /** Index of the batch within its task. */
  batch: number;
}

/**
 * Pairs each entry of an epoch's task order with that task's next batch, walking each task's batch order from
 * the start (a fresh iterator per epoch, as both MT-DNN samplers do).
 */
export function attachBatches(taskOrder: readonly number[], batchOrders: readonly (readonly number[])[]): ScheduledBatch[] {
  const next = new Array<number>(batchOrders.length).fill(0);
  return taskOrder.map((task, i) => {
    const order = batchOrders[task];
    if (!order) throw new Error(`attachBatches: entry ${i} names task ${task}, but only ${batchOrders.length} batch orders were given`);
    if (next[task] >= order.length) throw new Error(`attachBatches: task ${task} is scheduled more than its ${order.length} batches`);
    return { task, batch: order[next[task]++] };
  });
}
