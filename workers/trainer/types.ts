import type { ShardKey } from '../../src/engine/data/shardStore.ts';
import type { Experiment } from '../../src/engine/experiment/experimentSchema.ts';
import type { CorrelationMethod, TaskCorrelationMatrix } from '../../src/engine/analysis/taskCorrelation.ts';
import type { CorrelationUncertainty } from '../../src/engine/analysis/correlationUncertainty.ts';
import type { HeadMatrix } from '../../src/engine/analysis/types.ts';
import type { LabelBaseline } from '../../src/engine/analysis/labelBaselines.ts';
import type { EvaluationResult } from '../../src/engine/train/evaluate.ts';
import type { RunStatus } from '../../src/engine/train/trainEvents.ts';
import type { SelectionConfig } from '../../src/engine/selection/selectionConfig.ts';

/** Plain data shared by the trainer worker and the page (the page imports these as types only). */

/** Where a run's model comes from, resolved by the page to something the worker can fetch or read. */
export type ModelFrom =
  | { kind: 'url'; base: string }
  | { kind: 'files'; files: File[]; paths?: string[] }
  /** A random encoder of the experiment's `model` shape (kind 'random'). */
  | { kind: 'random' };

export interface PreparedModel {
  origin: string;
  layers: number;
  heads: number;
  hidden: number;
  vocabSize: number;
  doLowerCase: boolean;
  /** The vocabulary, for the data worker's tokenizer. */
  vocabText: string;
  vocabHash: string;
  /** True when the files came from the worker's IndexedDB cache because the network fetch failed. */
  fromCache: boolean;
}

/** Where a run's examples come from. */
export type RunData =
  /** Generated in the worker from the experiment's seed (the offline demo). */
  | { kind: 'synthetic'; trainRows: number; devRows: number }
  /** Token shards in IndexedDB built by the data worker, per task. */
  | { kind: 'shards'; tasks: Record<string, { train: ShardKey; dev?: ShardKey }>; devRows: number };

export interface RunOptions {
  /** Recompute head importance every this many optimiser steps (and at the end). */
  importanceEvery: number;
  /** Dev rows per task in the importance probe batch. */
  probeRows: number;
}

export interface StartRunRequest {
  experiment: Experiment;
  model: ModelFrom;
  data: RunData;
  options: RunOptions;
}

export interface LossPoint {
  step: number;
  task: string;
  loss: number;
}

export interface ImportanceState {
  /** Optimiser step the matrices were measured at. */
  step: number;
  measure: 'mask';
  /** Per task: the normalised [L][A] mask importance on the task's probe batch (dev rows, eval mode). */
  tasks: Record<string, HeadMatrix>;
  /** Per task, Σ over probe batches of |∂ mean loss/∂m| before normalisation (absent in runs stored before it). */
  raw?: Record<string, HeadMatrix>;
  probeRows: Record<string, number>;
}

export interface CorrelationState {
  step: number;
  kendall_tau_b: TaskCorrelationMatrix;
  spearman: TaskCorrelationMatrix;
  /** n, permutation p and bootstrap intervals over the probe batches (absent in runs stored before them). */
  uncertainty?: Record<CorrelationMethod, CorrelationUncertainty>;
}

export type LiveStatus = RunStatus | 'preparing' | 'interrupted';

/** Everything the page shows about a run; the worker sends it in increments (`RunUpdate`). */
export interface RunSummary {
  id: string;
  name: string;
  createdAt: string;
  updatedAt: string;
  status: LiveStatus;
  message?: string;
  experiment: Experiment;
  model: { origin: string; layers: number; heads: number; hidden: number; vocabSize: number };
  dataKind: RunData['kind'];
  backend: string;
  step: number;
  totalSteps: number;
  checkpointStep: number | null;
  evaluation: EvaluationResult | null;
  importance: ImportanceState | null;
  correlation: CorrelationState | null;
  lr: number;
  examplesPerSec: number;
  etaSeconds: number;
  elapsedSeconds: number;
  /** Every dev evaluation's metrics by step, for curves (absent in runs stored before it). */
  evalHistory?: { step: number; task: string; metric: string; value: number }[];
  /** Learning rate and throughput by step, thinned to at most TRACE_POINTS (absent in runs stored before it). */
  trace?: { step: number; lr: number; examplesPerSec: number }[];
  /** Per task: training label counts and the majority-class / constant-mean predictor's dev metrics (absent in older runs). */
  baselines?: LabelBaseline[];
}

/** A run as stored (IndexedDB "taskscope-workbench"): the summary, its loss curve and what a resume needs. */
export interface RunRecord extends RunSummary {
  losses: LossPoint[];
  data: RunData;
  options: RunOptions;
  /** config.json text of the encoder (with the experiment's dropout), to rebuild it on resume and export. */
  configJson: string;
  vocabText: string;
  doLowerCase: boolean;
}

/** An increment from the worker: the new summary plus loss points since the last update. */
export interface RunUpdate {
  summary: RunSummary;
  newLosses: LossPoint[];
  /** True for the first update of a resumed run: the page replaces its loss curve with `newLosses`. */
  reset?: boolean;
}

export interface EmbeddingRequest {
  /** Dev rows per task. */
  rowsPerTask: number;
  seed: number;
}

/** An auxiliary-task selection over the experiment's tasks (the target is one of them, the others are the candidates). */
export interface SelectionRequest {
  /** The base experiment: model, data, tasks, per-task row limits. */
  experiment: Experiment;
  model: ModelFrom;
  data: RunData;
  /** The `selection` section of an experiment file (method, target, budgets, per-stage overrides). */
  selection: SelectionConfig;
}

/** A progress message of a selection: a log line (a stage began, a run evaluated) and/or the training position. */
export interface SelectionProgress {
  line?: string;
  /** The training run in progress ("trial 2", "gradts tune SYN-FIRST", "to-mtdnn", …) and its step. */
  run?: string;
  step?: number;
  totalSteps?: number;
  elapsedSeconds: number;
}
