import type { Experiment } from '../experiment/experimentSchema.ts';
import type { BertEncoder } from '../model/bertEncoder.ts';
import { subsetSplit } from '../train/memorySplit.ts';
import { buildMultiTaskModel, variantExtensionFor } from '../model/modelFactory.ts';
import type { MultiTaskModel } from '../model/multiTaskModel.ts';
import type { TaskSpec } from '../model/taskSpec.ts';
import type { TrainerEvent } from '../train/trainEvents.ts';
import type { TaskEntry } from '../train/microBatchSchedule.ts';
import { Trainer, type TaskSplits } from '../train/trainer.ts';
import type { LossExtras } from '../train/trainStep.ts';
import type { EpochMetrics } from './gradtsTrial.ts';
import { nowMs, secondsSince, type Metrics, type ModelSize, type SelectionTraining } from './selectionResult.ts';

/**
 * The real runner behind every selection method: one MT-DNN run through the trainer (`train/trainer.ts`) on a
 * task list, optionally on row subsets of the training splits, reporting the target's dev metrics after every
 * epoch, the wall time and the rows processed. Every run starts from the same initial encoder (`makeEncoder`).
 */

export interface SelectionEnv {
  /** Tokenized splits of every task a selection may use (full training splits; subsets are cut here). */
  data: Readonly<Record<string, TaskSplits>>;
  /** A fresh encoder with the experiment's initial weights; called once per run. */
  makeEncoder: (exp: Experiment) => BertEncoder;
  /** Specs of tasks outside the GLUE registry (tests, user tasks). */
  specs?: Readonly<Record<string, TaskSpec>>;
  /** Every trainer event of every run, labelled with the run ("trial 2", "td-mtdnn", …). */
  onTrainerEvent?: (run: string, e: TrainerEvent) => void;
}

export interface TrainRunRequest {
  experiment: Experiment;
  /** The task whose dev metrics are read back (only its dev split is evaluated). */
  target: string;
  /** Training rows to keep per task (indices into the full split, file order); absent = all rows. */
  rows?: Readonly<Record<string, readonly number[]>>;
  label: string;
  lossExtras?: LossExtras;
  /** Called with the fresh model before the trainer is built (e.g. to attach the task discriminator). */
  prepare?: (model: MultiTaskModel) => void;
  /** Keep the trained model (the caller disposes it); otherwise it is disposed. */
  keepModel?: boolean;
  /** Evaluate nothing (GradTS's single-task tuning evaluates nothing, docs/methods.md §3.1). */
  noDev?: boolean;
}

export interface TrainRunOutcome {
  tasks: string[];
  rows: Record<string, number>;
  epochs: EpochMetrics[];
  last: Metrics;
  wallSeconds: number;
  examplesProcessed: number;
  status: 'done' | 'stopped' | 'failed';
  message?: string;
  modelSize: ModelSize;
  model?: MultiTaskModel;
}

/** The experiment with another task list (target first): per-task settings kept for tasks it lists, defaults otherwise. */
export function withTasks(exp: Experiment, tasks: readonly string[]): Experiment {
  const entry = (name: string): TaskEntry => exp.tasks.find((t) => t.name === name) ?? ({ name, weight: 1, head: 'linear', trainFraction: 1 } as TaskEntry);
  return { ...exp, tasks: tasks.map(entry) };
}

export function modelSize(encoder: BertEncoder): ModelSize {
  return { layers: encoder.numLayers, heads: encoder.numHeads, hidden: encoder.config.hiddenSize };
}

/** The training data of a run: the (subset) training split of every task, the dev split of the target only. */
function runData(env: SelectionEnv, req: TrainRunRequest): Record<string, TaskSplits> {
  const out: Record<string, TaskSplits> = {};
  for (const t of req.experiment.tasks) {
    const d = env.data[t.name];
    if (!d) throw new Error(`${req.label}: no data loaded for task ${t.name} (loaded: ${Object.keys(env.data).join(', ') || 'none'})`);
    const rows = req.rows?.[t.name];
    const train = rows ? subsetSplit(d.train, rows) : d.train;
    if (train.rows === 0) throw new Error(`${req.label}: task ${t.name} has no training rows`);
    out[t.name] = { train, dev: t.name === req.target && !req.noDev ? d.dev : undefined };
  }
  if (!out[req.target])
    throw new Error(`${req.label}: the target ${req.target} is not one of the run's tasks (${req.experiment.tasks.map((t) => t.name).join(', ')})`);
  if (!req.noDev && !out[req.target].dev) throw new Error(`${req.label}: the target ${req.target} has no dev split to evaluate on`);
  return out;
}

export async function trainOnTasks(env: SelectionEnv, req: TrainRunRequest): Promise<TrainRunOutcome> {
  const started = nowMs();
  const data = runData(env, req);
  const encoder = env.makeEncoder(req.experiment);
  const model = buildMultiTaskModel(req.experiment, encoder, { specs: env.specs, extension: variantExtensionFor(req.experiment, encoder) });
  let trainer: Trainer | null = null;
  let keep = false;
  try {
    req.prepare?.(model);
    let examples = 0;
    const counting: LossExtras = (ctx) => {
      examples += ctx.batch.inputIds.shape[0];
      return req.lossExtras ? req.lossExtras(ctx) : null;
    };
    const epochs: EpochMetrics[] = [];
    trainer = new Trainer({
      experiment: req.experiment,
      model,
      data,
      lossExtras: counting,
      onEvent: (e) => {
        if (e.type === 'eval') {
          const t = e.result.tasks.find((x) => x.task === req.target);
          if (t) epochs.push({ epoch: e.result.epoch, step: e.result.step, metrics: { ...t.metrics } });
        }
        env.onTrainerEvent?.(req.label, e);
      },
    });
    const r = await trainer.run();
    keep = !!req.keepModel;
    return {
      tasks: req.experiment.tasks.map((t) => t.name),
      rows: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, v.train.rows])),
      epochs,
      last: epochs.length ? { ...epochs[epochs.length - 1].metrics } : {},
      wallSeconds: secondsSince(started),
      examplesProcessed: examples,
      status: r.status,
      message: r.message,
      modelSize: modelSize(model.encoder),
      model: keep ? model : undefined,
    };
  } finally {
    trainer?.dispose();
    if (!keep) model.dispose();
  }
}

export function asSelectionTraining(o: TrainRunOutcome): SelectionTraining {
  return {
    tasks: o.tasks,
    rows: o.rows,
    epochs: o.epochs.map((e) => ({ epoch: e.epoch, step: e.step ?? 0, metrics: e.metrics })),
    last: o.last,
    wallSeconds: o.wallSeconds,
    examplesProcessed: o.examplesProcessed,
  };
}

/**
 * TO-MTDNN / GradTS-fg training (docs/methods.md §4.3 step 3, §3.7): the target's whole training set plus the chosen rows
 * of each auxiliary task. Auxiliary tasks with no chosen row are left out (FastMTL keeps them with a dummy
 * example whose loss is zeroed, which only adds optimiser steps with zero gradient).
 */
export async function trainOnSelection(
  env: SelectionEnv,
  experiment: Experiment,
  target: string,
  chosen: Readonly<Record<string, readonly number[]>>,
  label = 'selection training',
): Promise<TrainRunOutcome> {
  const aux = Object.keys(chosen).filter((t) => t !== target && chosen[t].length > 0);
  const rows: Record<string, readonly number[]> = {};
  for (const t of aux) rows[t] = chosen[t];
  return trainOnTasks(env, { experiment: withTasks(experiment, [target, ...aux]), target, rows, label });
}
