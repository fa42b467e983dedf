import * as tf from '@tensorflow/tfjs';
import { pooledFeatures } from '../../analysis/pooledFeatures.ts';
import type { Experiment } from '../../experiment/experimentSchema.ts';
import { posWeightFromBatchCounts } from '../../train/sampling/index.ts';
import type { MultiTaskModel } from '../../model/multiTaskModel.ts';
import { SELECTION_FORMAT, nowMs, secondsSince, type SelectionResult } from '../selectionResult.ts';
import { asSelectionTraining, trainOnSelection, trainOnTasks, withTasks, type SelectionEnv } from '../trainRunner.ts';
import { groupByTask, rankPooled, selectTopRanked, type RankedExample, type ScoredPool } from './discriminatorRanking.ts';
import {
  TaskDiscriminator,
  discriminatorExtension,
  discriminatorLossExtras,
  discriminatorProbs,
  type DiscriminatorLossKind,
  type DiscriminatorScoring,
} from './taskDiscriminator.ts';
import { auxiliaryPools, sampleTdRowsForTasks } from './tdRows.ts';

/**
 * FastMTL (docs/methods.md §4.3, Taskscope decision 9): TD-MTDNN (every task's sampled rows, task losses + discriminator
 * loss) → discriminator probabilities of the target for every unused auxiliary row → global top-NUM →
 * TO-MTDNN on the target's full training set plus those rows. Wall time and rows processed are measured for
 * the selection (TD training + scoring + ranking) and for the training separately.
 */

export interface FastmtlOptions {
  target: string;
  /** The discriminator's tasks (its outputs, in this order): the target and every auxiliary task. */
  tasks: readonly string[];
  /** Total auxiliary examples kept, across all auxiliary tasks (default 1000, the scripts'). */
  num?: number;
  /** Training rows per task for TD-MTDNN (default 500). */
  tdPerTask?: number;
  /** Seed of the TD sample (FastMTL: 200 + s, s ∈ 5…9); default 205. */
  tdSeed?: number;
  lossKind?: DiscriminatorLossKind;
  /** Default 'sigmoid' for both variants, as FastMTL; 'softmax' is the clean option for CE. */
  scoring?: DiscriminatorScoring;
  /** TD-MTDNN settings (the 'fastmtl' preset with 5 epochs and the TD seed). */
  tdExperiment: Experiment;
  /** TO-MTDNN settings; absent = stop after the selection. */
  trainExperiment?: Experiment;
  scoreBatchSize?: number;
}

export interface FastmtlReasons {
  lossKind: DiscriminatorLossKind;
  scoring: DiscriminatorScoring;
  num: number;
  tdPerTask: number;
  tdSeed: number;
  /** Discriminator outputs, in order. */
  taskOrder: string[];
  targetIndex: number;
  /** BCE pos_weight from TD-MTDNN batch counts ((N_all − N_j) / N_j); null for CE. */
  posWeight: number[] | null;
  tdTraining: {
    rows: Record<string, number>;
    epochs: number;
    wallSeconds: number;
    examplesProcessed: number;
    status: string;
    targetDev: Record<string, number>;
  };
  scoringCost: { wallSeconds: number; rowsScored: number };
  /**
   * Per auxiliary task: unused rows (candidates), chosen rows, the mean target score over its candidates, and
   * every candidate's score (pool order, unrounded: the scores of a weak discriminator differ only far after the decimal point) so a ranking can be checked against known relations.
   */
  pools: Record<string, { candidates: number; chosen: number; meanScore: number; scores: number[] }>;
  /** The chosen examples, best first. */
  top: RankedExample[];
}

function checkTasks(o: FastmtlOptions): void {
  if (!o.tasks.includes(o.target)) throw new Error(`fastmtl: the target ${o.target} is not one of the discriminator's tasks (${o.tasks.join(', ')})`);
  if (o.tasks.length < 2) throw new Error('fastmtl: needs the target and at least one auxiliary task');
  const dup = o.tasks.find((t, i) => o.tasks.indexOf(t) !== i);
  if (dup) throw new Error(`fastmtl: task ${dup} is listed twice`);
}

/** Scores each pool's rows with p(target | x) from the trained discriminator, in eval mode. */
async function scorePools(
  model: MultiTaskModel,
  td: TaskDiscriminator,
  env: SelectionEnv,
  pools: { task: string; rows: number[]; uids: string[] }[],
  targetIndex: number,
  scoring: DiscriminatorScoring,
  batchSize: number,
): Promise<ScoredPool[]> {
  const out: ScoredPool[] = [];
  for (const p of pools) {
    const f = await pooledFeatures(model.encoder, env.data[p.task].train, {
      rows: p.rows,
      batchSize,
      taskId: model.taskId(p.task),
      project: (pooled) => tf.slice(discriminatorProbs(td.logits(pooled), scoring), [0, targetIndex], [-1, 1]) as tf.Tensor2D,
    });
    out.push({ task: p.task, rows: p.rows, uids: f.uids, scores: f.values });
  }
  return out;
}

export async function runFastmtlSelection(env: SelectionEnv, o: FastmtlOptions): Promise<SelectionResult<FastmtlReasons>> {
  checkTasks(o);
  const started = nowMs();
  const num = o.num ?? 1000;
  const tdPerTask = o.tdPerTask ?? 500;
  const tdSeed = o.tdSeed ?? 205;
  const lossKind = o.lossKind ?? 'bce';
  const scoring = o.scoring ?? 'sigmoid';
  const taskOrder = [...o.tasks];
  const targetIndex = taskOrder.indexOf(o.target);
  for (const t of taskOrder) if (!env.data[t]) throw new Error(`fastmtl: no data loaded for task ${t}`);

  const tdRows = sampleTdRowsForTasks(Object.fromEntries(taskOrder.map((t) => [t, env.data[t].train.rows])), tdPerTask, tdSeed);
  const tdExp = withTasks(o.tdExperiment, taskOrder);
  const batchCounts = taskOrder.map((t) => Math.ceil(tdRows[t].used.length / tdExp.batchSize));
  const posWeight = lossKind === 'bce' ? posWeightFromBatchCounts(batchCounts) : null;

  let td: TaskDiscriminator | null = null;
  const tdRun = await trainOnTasks(env, {
    experiment: tdExp,
    target: o.target,
    rows: Object.fromEntries(taskOrder.map((t) => [t, tdRows[t].used])),
    label: 'td-mtdnn',
    keepModel: true,
    prepare: (model) => {
      // The model's task order is the discriminator's output order (no SIWLM reordering in TD-MTDNN).
      if (model.tasks.join(',') !== taskOrder.join(',')) throw new Error(`fastmtl: model tasks ${model.tasks.join(', ')} differ from ${taskOrder.join(', ')}`);
      td = new TaskDiscriminator(model.hiddenSize, taskOrder.length, { seed: (tdSeed * 7919 + 13) >>> 0 });
      model.encoder.extension = discriminatorExtension(td, model.encoder.extension);
    },
    lossExtras: (ctx) => discriminatorLossExtras(td!, { kind: lossKind, posWeight: posWeight ?? undefined })(ctx),
  });
  const model = tdRun.model!;
  let scored: ScoredPool[];
  const scoreStart = nowMs();
  try {
    const pools = auxiliaryPools(tdRows, (t) => env.data[t].train.uids, o.target);
    scored = await scorePools(model, td!, env, pools, targetIndex, scoring, o.scoreBatchSize ?? tdExp.evalBatchSize);
  } finally {
    model.dispose(); // also disposes the discriminator (it is the encoder's extension)
  }
  const rowsScored = scored.reduce((a, p) => a + p.rows.length, 0);
  const ranked = rankPooled(scored);
  const top = selectTopRanked(ranked, num);
  const byTask = groupByTask(top);
  const scoringSeconds = secondsSince(scoreStart);
  const selectionSeconds = secondsSince(started);

  const pools: FastmtlReasons['pools'] = {};
  for (const p of scored) {
    let sum = 0;
    for (let i = 0; i < p.scores.length; i++) sum += p.scores[i];
    pools[p.task] = {
      candidates: p.rows.length,
      chosen: byTask[p.task]?.rows.length ?? 0,
      meanScore: p.rows.length ? sum / p.rows.length : NaN,
      scores: Array.from(p.scores),
    };
  }
  const result: SelectionResult<FastmtlReasons> = {
    format: SELECTION_FORMAT,
    method: 'fastmtl',
    target: o.target,
    chosen: Object.keys(byTask),
    examples: Object.fromEntries(Object.entries(byTask).map(([t, g]) => [t, g.uids])),
    reasons: {
      lossKind,
      scoring,
      num,
      tdPerTask,
      tdSeed,
      taskOrder,
      targetIndex,
      posWeight,
      tdTraining: {
        rows: tdRun.rows,
        epochs: tdExp.epochs,
        wallSeconds: tdRun.wallSeconds,
        examplesProcessed: tdRun.examplesProcessed,
        status: tdRun.status,
        targetDev: tdRun.last as Record<string, number>,
      },
      scoringCost: { wallSeconds: scoringSeconds, rowsScored },
      pools,
      top,
    },
    wallSeconds: selectionSeconds,
    examplesProcessed: tdRun.examplesProcessed + rowsScored,
    model: tdRun.modelSize,
  };
  if (o.trainExperiment) {
    const training = await trainOnSelection(
      env,
      o.trainExperiment,
      o.target,
      Object.fromEntries(Object.entries(byTask).map(([t, g]) => [t, g.rows])),
      'to-mtdnn',
    );
    result.training = asSelectionTraining(training);
  }
  return result;
}
