import type { EvaluationResult } from './evaluate.ts';

/** After every optimiser step. Losses are the tasks' own (unweighted) mean losses. */
export interface StepEvent {
  type: 'step';
  /** Optimiser steps done (1-based: the first update is step 1). */
  step: number;
  totalSteps: number;
  /** 0-based epoch of the step's last batch. */
  epoch: number;
  /** Task of the step's last batch (with gradient accumulation, `tasks` lists every batch's task). */
  task: string;
  tasks: string[];
  /** Loss weight of each of those batches: SIWLM task_weight · α (docs/methods.md §2.3), 1 without SIWLM. */
  weights: number[];
  /** Mean task loss over the step's batches. */
  loss: number;
  /** Latest loss seen for each task so far. */
  perTaskLoss: Record<string, number>;
  /** Learning rate of this update (the schedule at this step). */
  lr: number;
  /** Global gradient norm before clipping. */
  gradNorm: number;
  examplesPerSec: number;
  tokensPerSec: number;
  etaSeconds: number;
  elapsedSeconds: number;
}

export interface EvalEvent {
  type: 'eval';
  result: EvaluationResult;
}

export interface CheckpointEvent {
  type: 'checkpoint';
  step: number;
  where: string;
}

export type RunStatus = 'idle' | 'running' | 'paused' | 'stopped' | 'done' | 'failed';

export interface StatusEvent {
  type: 'status';
  status: RunStatus;
  step: number;
  message?: string;
}

export type TrainerEvent = StepEvent | EvalEvent | CheckpointEvent | StatusEvent;
