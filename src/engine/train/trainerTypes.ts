import type { LoadedSplit } from '../data/shardReader.ts';
import type { Experiment } from '../experiment/experimentSchema.ts';
import type { MultiTaskModel } from '../model/multiTaskModel.ts';
import type { EvaluationResult } from './evaluate.ts';
import type { TrainerEvent } from './trainEvents.ts';
import type { TrainStateStore } from './trainState.ts';
import type { LossExtras } from './trainStep.ts';

/** A task's tokenized splits. */
export interface TaskSplits {
  train: LoadedSplit;
  /** Labelled dev split for evaluation; without it the task is trained but not scored. */
  dev?: LoadedSplit;
}

export interface TrainerOptions {
  experiment: Experiment;
  /** Must have a head for every task of the experiment (see `runTaskOrder` and `buildMultiTaskModel`). */
  model: MultiTaskModel;
  /** The training rows per task; the trainer itself keeps a task's thresholdHoldout fraction out of them. */
  data: Readonly<Record<string, TaskSplits>>;
  /** Where train states go (checkpointEvery, epoch ends, stop); none = no checkpoints. */
  store?: TrainStateStore;
  onEvent?: (e: TrainerEvent) => void;
  /** KD / SMART terms (see LossExtras). */
  lossExtras?: LossExtras;
  /**
   * A checksum of the initial weights (the caller's choice of hash), saved with every state: a resume
   * with other initial weights is refused even when the experiment's `model` entry reads the same.
   */
  initialModelChecksum?: string;
}

export interface RunResult {
  status: 'done' | 'stopped' | 'failed';
  step: number;
  /** The failure, for 'failed'. */
  message?: string;
  lastEvaluation: EvaluationResult | null;
}

/** The run stopped on a NaN/Inf loss or gradient; nothing was applied or saved from the bad step. */
export class NonFiniteLossError extends Error {
  constructor(
    message: string,
    readonly step: number,
    readonly task: string,
    readonly lastCheckpointStep: number | null,
  ) {
    super(message);
    this.name = 'NonFiniteLossError';
  }
}

export function describeNonFinite(x: number): string {
  return Number.isNaN(x) ? 'NaN' : x > 0 ? 'Inf' : '-Inf';
}

/** Lets queued messages (pause/stop from the page) run between steps. */
export function yieldToEventLoop(): Promise<void> {
  const g = globalThis as { setImmediate?: (f: () => void) => void };
  return new Promise((r) => (g.setImmediate ? g.setImmediate(r) : setTimeout(r, 0)));
}
