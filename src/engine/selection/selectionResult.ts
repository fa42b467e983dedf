import type { MetricName } from '../metrics/index.ts';

/**
 * What every auxiliary-task selection writes (CLI `select`, the Selection view): what was chosen, why, and
 * what it cost. Plain JSON, so it round-trips through files, workers and the page unchanged.
 */

export type SelectionMethod = 'gradts-trial' | 'gradts-fg' | 'fastmtl' | 'random';
export const SELECTION_METHODS: readonly SelectionMethod[] = ['gradts-trial', 'gradts-fg', 'fastmtl', 'random'];

/** Dev metrics of one evaluation, 0–1 scale. */
export type Metrics = Partial<Record<MetricName, number>>;

/** Size of the encoder the selection ran on (Taskscope decision 11: reported beside every result). */
export interface ModelSize {
  layers: number;
  heads: number;
  hidden: number;
}

/** Training on the target plus the selection (the run the selection is for). */
export interface SelectionTraining {
  tasks: string[];
  /** Training rows per task. */
  rows: Record<string, number>;
  /** Target dev metrics after each evaluation (per epoch), and of the last one. */
  epochs: { epoch: number; step: number; metrics: Metrics }[];
  last: Metrics;
  wallSeconds: number;
  /** Rows through forward + backward (each epoch counts again). */
  examplesProcessed: number;
}

export interface SelectionResult<Reasons = unknown> {
  method: SelectionMethod;
  target: string;
  /** Auxiliary tasks chosen; for the example-level methods, those that got at least one example. */
  chosen: string[];
  /** Example-level methods: the chosen training examples (uids) per auxiliary task. */
  examples?: Record<string, string[]>;
  reasons: Reasons;
  /** Seconds the selection itself took (trials; TD training + scoring + ranking; correlation). */
  wallSeconds: number;
  /** Rows the selection put through the model (training rows × epochs + scored rows). */
  examplesProcessed: number;
  /** The training on target + selection, when it was run. */
  training?: SelectionTraining;
  model?: ModelSize;
  /** Library version of the format. */
  format: typeof SELECTION_FORMAT;
}

export const SELECTION_FORMAT = 'taskscope-selection/1';

/** Monotonic seconds since `start` (performance.now() is in every runtime the engine runs in). */
export function secondsSince(start: number): number {
  return (globalThis.performance.now() - start) / 1000;
}

export function nowMs(): number {
  return globalThis.performance.now();
}
