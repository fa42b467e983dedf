import type { Experiment } from '../experiment/experimentSchema.ts';
import { Rng } from '../runtime/rng.ts';
import { groupByTask } from './fastmtl/discriminatorRanking.ts';
import { auxiliaryPools, sampleTdRowsForTasks } from './fastmtl/tdRows.ts';
import { SELECTION_FORMAT, nowMs, secondsSince, type ModelSize, type SelectionResult } from './selectionResult.ts';
import { asSelectionTraining, trainOnSelection, type SelectionEnv } from './trainRunner.ts';

/**
 * FastMTL's random-sampling baseline (`RAND.sh`, docs/methods.md §4.3 step 3): a random permutation ranks the pooled
 * unused auxiliary examples and the first NUM are kept, i.e. NUM drawn uniformly without replacement from the
 * pool of all auxiliary tasks together.
 */
export interface CandidatePool {
  task: string;
  rows: readonly number[];
  uids: readonly string[];
}

export interface RandomDraw {
  chosen: { task: string; row: number; uid: string }[];
  poolSize: number;
  /** NUM asked for; `chosen.length` is smaller only when the pool is. */
  requested: number;
}

export function randomSelect(pools: readonly CandidatePool[], num: number, seed: number | string): RandomDraw {
  if (!Number.isInteger(num) || num < 0) throw new Error(`random selection: NUM must be a non-negative integer, got ${num}`);
  const pooled: { task: string; row: number; uid: string }[] = [];
  for (const p of pools) {
    if (p.rows.length !== p.uids.length) throw new Error(`random selection: ${p.task} has ${p.rows.length} rows and ${p.uids.length} uids`);
    p.rows.forEach((row, i) => pooled.push({ task: p.task, row, uid: p.uids[i] }));
  }
  const chosen = new Rng(`${seed}/fastmtl-random`).sample(pooled, Math.min(num, pooled.length));
  return { chosen, poolSize: pooled.length, requested: num };
}

export interface RandomSelectionOptions {
  target: string;
  /** The target and the auxiliary tasks (the same list FastMTL's discriminator used). */
  tasks: readonly string[];
  num?: number;
  /** The draw's seed (FastMTL's baseline: 0, 1, 2). */
  seed: number;
  /** Rows excluded as FastMTL's TD sample with this seed (same pools as a FastMTL run with that seed); default 205. */
  tdSeed?: number;
  tdPerTask?: number;
  /** Training on target + the draw; absent = selection only. */
  trainExperiment?: Experiment;
  model?: ModelSize;
}

export interface RandomReasons {
  num: number;
  seed: number;
  tdSeed: number;
  tdPerTask: number;
  poolSize: number;
  pools: Record<string, { candidates: number; chosen: number }>;
}

/** The random baseline with the same NUM and the same candidate pools as FastMTL. */
export async function runRandomSelection(env: SelectionEnv, o: RandomSelectionOptions): Promise<SelectionResult<RandomReasons>> {
  const started = nowMs();
  if (!o.tasks.includes(o.target)) throw new Error(`random selection: the target ${o.target} is not one of the tasks (${o.tasks.join(', ')})`);
  for (const t of o.tasks) if (!env.data[t]) throw new Error(`random selection: no data loaded for task ${t}`);
  const num = o.num ?? 1000;
  const tdSeed = o.tdSeed ?? 205;
  const tdPerTask = o.tdPerTask ?? 500;
  const tdRows = sampleTdRowsForTasks(Object.fromEntries(o.tasks.map((t) => [t, env.data[t].train.rows])), tdPerTask, tdSeed);
  const pools = auxiliaryPools(tdRows, (t) => env.data[t].train.uids, o.target);
  const draw = randomSelect(pools, num, o.seed);
  const byTask = groupByTask(draw.chosen);
  const result: SelectionResult<RandomReasons> = {
    format: SELECTION_FORMAT,
    method: 'random',
    target: o.target,
    chosen: pools.map((p) => p.task).filter((t) => byTask[t]),
    examples: Object.fromEntries(pools.filter((p) => byTask[p.task]).map((p) => [p.task, byTask[p.task].uids])),
    reasons: {
      num,
      seed: o.seed,
      tdSeed,
      tdPerTask,
      poolSize: draw.poolSize,
      pools: Object.fromEntries(pools.map((p) => [p.task, { candidates: p.rows.length, chosen: byTask[p.task]?.rows.length ?? 0 }])),
    },
    wallSeconds: secondsSince(started),
    examplesProcessed: 0,
    model: o.model,
  };
  if (o.trainExperiment) {
    const rows = Object.fromEntries(pools.filter((p) => byTask[p.task]).map((p) => [p.task, byTask[p.task].rows]));
    const outcome = await trainOnSelection(env, o.trainExperiment, o.target, rows, 'random training');
    result.training = asSelectionTraining(outcome);
    result.model ??= outcome.modelSize;
  }
  return result;
}
