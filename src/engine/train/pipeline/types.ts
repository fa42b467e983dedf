import type { SplitName, TaskName } from '../../../../datasets/types.ts';
import type { LoadedSplit } from '../../data/shardReader.ts';
import type { Experiment } from '../../experiment/experimentSchema.ts';
import type { BertEncoder } from '../../model/bertEncoder.ts';
import type { PipelineConfig } from '../pipelineConfig.ts';
import type { RunStorage } from '../runStorage.ts';
import type { TrainerEvent } from '../trainEvents.ts';
import type { TrainStateStore } from '../trainState.ts';

export const PIPELINE_STATE_FILE = 'pipeline-state.json';
export const PIPELINE_STATE_FORMAT = 'taskscope-pipeline/1';
export const SUBMISSION_ZIP = 'submit/glue_submission.zip';

export type StageId = 'mtl' | 'strip' | 'finetune' | 'evaluate' | 'predict' | 'submit';

export interface InitialModel {
  encoder: BertEncoder;
  vocabText: string;
  doLowerCase: boolean;
}

export type PipelineEvent =
  | { type: 'stage'; stage: StageId; status: 'start' | 'done' | 'skipped' | 'disabled' }
  | { type: 'unit'; key: string; status: 'start' | 'done' | 'skipped' }
  | { type: 'train'; run: string; event: TrainerEvent };

/** What the runner needs from its host (the CLI, the trainer worker, a test). */
export interface PipelineEnv {
  storage: RunStorage;
  /** The multi-task stage's starting encoder (from the mtl experiment's `model`) and its vocabulary. */
  initialModel(exp: Experiment): Promise<InitialModel>;
  /**
   * A task's split, tokenized with the initial model's vocabulary and truncated to `maxLength`; null when the
   * data has no such split.
   */
  loadSplit(task: TaskName, split: SplitName, maxLength: number): Promise<LoadedSplit | null>;
  /** Text of a file the config names (finetune.kd.teachers). */
  readExternal?(path: string): Promise<string>;
  /** Another run's storage (predict.teacher.ensembleWith). */
  openRun?(path: string): RunStorage;
  /** Resumable train states per training run, so a stopped stage resumes mid-training; none = from its start. */
  trainStates?: { open(key: string): TrainStateStore; remove?(key: string): Promise<void> };
  onEvent?(e: PipelineEvent): void;
  /** Stops the run after the current training step (the stage can be resumed later). */
  signal?: AbortSignal;
}

export interface PipelineRunOptions {
  /** Redo this stage and every later one (also accepts a changed config). */
  from?: StageId;
  /** Stop after this stage. */
  until?: StageId;
}

export interface UnitRecord {
  at: string;
  outputs: string[];
}

export interface PipelineState {
  format: typeof PIPELINE_STATE_FORMAT;
  config: unknown;
  /** Completed units ('mtl', 'finetune/RTE', …) and stages ('stage:finetune'). */
  done: Record<string, UnitRecord>;
  /** Units started and not finished, with the id of their train-state slot (a crash resumes into it). */
  inProgress: Record<string, string>;
  nextSlot: number;
}

export interface StageContext {
  cfg: PipelineConfig;
  env: PipelineEnv;
  storage: RunStorage;
  /** Runs `fn` unless `key` is done with its outputs present; `slot` names the unit's train-state slot. */
  unit(key: string, fn: (slot: string) => Promise<string[]>): Promise<void>;
}

export interface PipelineStage {
  id: StageId;
  title: string;
  enabled(cfg: PipelineConfig): boolean;
  run(ctx: StageContext): Promise<void>;
}
