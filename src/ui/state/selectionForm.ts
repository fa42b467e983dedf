import type { Experiment } from '../../engine/experiment/experimentSchema.ts';
import { parseSelectionConfig, stageExperiment, type SelectionConfig, type Stage } from '../../engine/selection/selectionConfig.ts';
import type { SelectionMethod } from '../../engine/selection/selectionResult.ts';
import { parseAppExperiment, toInput } from '../../urlState/appExperiment.ts';

/**
 * The Selection view's form and what it sends to the trainer worker: the experiment's tasks with a row limit,
 * and a `selection` section like an experiment file's (the CLI's `select` reads the same section).
 */

export interface SelectionForm {
  method: SelectionMethod;
  /** Empty: the experiment's first task. */
  target: string;
  /** FastMTL / random: auxiliary examples in total. */
  num: number;
  /** GradTS-fg: keep examples with instance τ ≥ θ. */
  threshold: number;
  clean: boolean;
  lossKind: 'bce' | 'ce';
  /** FastMTL / random: TD-MTDNN training rows per task; the rest of each split is the candidate pool. */
  tdPerTask: number;
  /** The random baseline's draw seed. */
  seed: number;
  /** GradTS: at most this many trials (0: until the stop rule or the candidates run out). */
  maxTrials: number;
  /** GradTS: head matrices measured on this many training rows per task. */
  maxMeasureRows: number;
  /** Training rows per task for every stage (0: the experiment's own maxTrainRows). */
  maxTrainRows: number;
  epochs: Record<Stage, number>;
  /**
   * Train every stage with the experiment's optimizer, schedule and batch size instead of the papers' presets
   * (Adamax 5e-5 / AdamW 2e-5 suit a pretrained BERT; a from-scratch encoder learns nothing at those rates).
   */
  ownRecipe: boolean;
  /** Train on target + selection afterwards (FastMTL, random, GradTS-fg). */
  train: boolean;
}

export const STAGE_LABELS: Record<Stage, string> = {
  tune: 'GradTS single-task tuning',
  trial: 'GradTS trials / fg training',
  td: 'FastMTL TD-MTDNN',
  train: 'TO-MTDNN / random training',
};

/** Stages each method runs (the form shows only their epochs). */
export const METHOD_STAGES: Record<SelectionMethod, Stage[]> = {
  'gradts-trial': ['tune', 'trial'],
  'gradts-fg': ['tune', 'trial'],
  fastmtl: ['td', 'train'],
  random: ['train'],
};

/**
 * Small budgets: on the synthetic demo (wasm, this project's 2-core machine) each method takes 5–25 s, and three
 * epochs of 256 rows are enough for SYN-FIRST and SYN-CONTAINS to be learnt (one epoch is not).
 */
export function defaultSelectionForm(exp: Experiment): SelectionForm {
  return {
    method: 'gradts-trial',
    target: exp.tasks[0]?.name ?? '',
    num: 64,
    threshold: 0.62,
    clean: false,
    lossKind: 'bce',
    tdPerTask: 16,
    seed: 0,
    maxTrials: 2,
    maxMeasureRows: 16,
    maxTrainRows: 256,
    epochs: { tune: 1, trial: 3, td: 2, train: 3 },
    ownRecipe: exp.model.kind === 'random',
    train: true,
  };
}

export interface SelectionInputs {
  experiment: Experiment;
  selection: SelectionConfig;
}

/** The experiment (row limit applied) and the validated selection section; throws with every problem listed. */
export function selectionInputs(form: SelectionForm, exp: Experiment): SelectionInputs {
  const names = exp.tasks.map((t) => t.name);
  const target = form.target || names[0];
  if (!names.includes(target)) throw new Error(`target: ${target} is not one of the experiment's tasks (${names.join(', ')})`);
  if (names.length < 2) throw new Error('the experiment needs at least two tasks: the target and a candidate');
  if (!(Number.isInteger(form.maxTrainRows) && form.maxTrainRows >= 0))
    throw new Error(`training rows per task must be an integer ≥ 0, got ${form.maxTrainRows}`);
  const experiment: Experiment = form.maxTrainRows > 0 ? { ...exp, tasks: exp.tasks.map((t) => ({ ...t, maxTrainRows: form.maxTrainRows })) } : exp;

  // Evaluations at epoch ends only: the trials read one dev evaluation per epoch.
  const all: Record<string, unknown> = { evalEvery: 0 };
  if (form.ownRecipe)
    Object.assign(all, { optimizer: exp.optimizer, schedule: exp.schedule, batchSize: exp.batchSize, gradAccumulation: exp.gradAccumulation });
  const stages: Record<string, Record<string, unknown>> = { all };
  for (const s of METHOD_STAGES[form.method]) stages[s] = { epochs: form.epochs[s] };

  const m = form.method;
  const gradts = m === 'gradts-trial' || m === 'gradts-fg';
  const raw = {
    method: m,
    target,
    clean: form.clean,
    stages,
    ...(m === 'fastmtl' || m === 'random' ? { num: form.num, tdPerTask: form.tdPerTask } : {}),
    ...(m === 'fastmtl' ? { lossKind: form.lossKind } : {}),
    ...(m === 'random' ? { seed: form.seed } : {}),
    ...(m === 'gradts-fg' ? { threshold: form.threshold } : {}),
    ...(gradts ? { maxMeasureRows: form.maxMeasureRows, ...(form.maxTrials > 0 ? { maxTrials: form.maxTrials } : {}) } : {}),
    ...(m !== 'gradts-trial' && !form.train ? { train: false } : {}),
  };
  const selection = parseSelectionConfig(raw, 'selection form');
  // The worker validates these again; checking here puts a bad epoch count next to the form, not in the log.
  for (const s of METHOD_STAGES[m]) stageExperiment(toInput(experiment), selection, s, parseAppExperiment);
  return { experiment, selection };
}
