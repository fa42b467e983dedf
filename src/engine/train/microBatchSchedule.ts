import { BatchReader, type Batch, type BatchPosition } from '../data/batchReader.ts';
import type { LoadedSplit } from '../data/shardReader.ts';
import type { Experiment } from '../experiment/experimentSchema.ts';
import { Rng, type RngState } from '../runtime/rng.ts';
import { SiwlmAlphaCounter, type SiwlmCounterState } from './sampling/siwlm.ts';
import { epochTaskOrder, nominalEpochLength, type ScheduleContext } from './taskScheduler.ts';

export type TaskEntry = Experiment['tasks'][number];

/**
 * The run's task order: the experiment's, with the SIWLM central task moved first (task id 0 is the one the
 * intensive phase favours; Taskscope decision 6). Without `centralTask` the first listed task is central.
 */
export function runTaskOrder(exp: Experiment): TaskEntry[] {
  const tasks = [...exp.tasks];
  if (!exp.siwlm.enabled || !exp.siwlm.centralTask) return tasks;
  const i = tasks.findIndex((t) => t.name === exp.siwlm.centralTask);
  if (i < 0) throw new Error(`siwlm.centralTask ${exp.siwlm.centralTask} is not one of the tasks`);
  return [tasks[i], ...tasks.slice(0, i), ...tasks.slice(i + 1)];
}

/** The seed of a task's training batch reader (row shuffling per epoch). */
export function trainReaderSeed(seed: number, task: string): string {
  return `${seed}/train/${task}`;
}

/** One micro-batch of the run. */
export interface MicroBatch {
  /** Index into the run's task order (runTaskOrder). */
  taskIdx: number;
  batch: Batch;
  /** SIWLM task_weight · α, or 1. */
  weight: number;
  /** 0-based epoch the batch belongs to. */
  epoch: number;
  /** The batch is its epoch's last (the trainer evaluates and checkpoints after that step). */
  epochEnd: boolean;
}

/** Where a schedule is; plain JSON, part of a train state (same field names as TrainStateMeta). */
export interface MicroBatchScheduleState {
  /** Micro-batches consumed (step · gradAccumulation). */
  microStep: number;
  /** 0-based epoch the next batch belongs to, and how many of its batches are consumed. */
  epoch: number;
  epochPosition: number;
  /** Epochs fully consumed. */
  completedEpochs: number;
  /** Sampler generator at the start of `epoch` (its task order is drawn from it) and now. */
  epochRngState: RngState;
  rngState: RngState;
  /** Each task's batch reader, by task name. */
  readers: Record<string, BatchPosition>;
  siwlm: SiwlmCounterState | null;
}

/**
 * The run's micro-batch sequence, one generator for the Trainer and the PyTorch export: each epoch's task order
 * from the sampler (MT-DNN mix_opt/ratio, annealed, proportional, sqrt, uniform, temperature; docs/methods.md §1.6,
 * §5.2), each task's seeded batch reader under the experiment's `batches` mode, the SIWLM weights (§2.2), and one
 * task per optimiser step for the sampled modes (EmBERT/PALs sample when step % grad_acc == 0; MT-DNN accumulates
 * its batch list as it comes, so its steps may mix tasks). `train` is the rows trained on, in run task order.
 */
export class MicroBatchSchedule {
  readonly tasks: TaskEntry[];
  /** Micro-batches per epoch (the sampler's epoch length; MT-DNN with ratio > 0 subsamples auxiliary batches). */
  readonly epochLength: number;
  /** Batches per epoch as the learning-rate schedule counts them. */
  readonly nominalEpochLength: number;
  readonly context: ScheduleContext;
  private readonly readers: BatchReader[];
  private readonly weights: number[];
  private readonly siwlm: SiwlmAlphaCounter | null;
  private readonly gradAccumulation: number;
  private readonly sampled: boolean;
  private rng: Rng;
  private microStep = 0;
  private epoch = 0;
  private order: number[] = [];
  private position = 0;
  private epochRngState: RngState;
  private completedEpochs = 0;
  private stepTask = 0;

  constructor(
    private readonly exp: Experiment,
    train: readonly LoadedSplit[],
  ) {
    this.tasks = runTaskOrder(exp);
    if (train.length !== this.tasks.length) throw new Error(`micro-batch schedule: ${train.length} training splits for ${this.tasks.length} tasks`);
    this.readers = this.tasks.map(
      (t, i) => new BatchReader([train[i]], { batchSize: exp.batchSize, seed: trainReaderSeed(exp.seed, t.name), plan: exp.batches }),
    );
    this.weights = this.tasks.map((t, i) => (!exp.siwlm.enabled ? 1 : i === 0 ? exp.siwlm.centralWeight : t.weight));
    this.siwlm = exp.siwlm.enabled && exp.siwlm.alternation ? new SiwlmAlphaCounter(this.tasks.length) : null;
    this.gradAccumulation = exp.gradAccumulation;
    this.sampled = exp.sampler.kind !== 'mtdnn';
    this.context = {
      taskNames: this.tasks.map((t) => t.name),
      batchCounts: this.readers.map((r) => r.batchesPerEpoch),
      sizes: train.map((s) => s.rows),
      totalEpochs: Math.max(1, Math.ceil(exp.epochs)),
    };
    // A throwaway generator draws the real epoch length.
    this.epochLength = epochTaskOrder(exp.sampler, this.context, 0, new Rng(0)).length;
    this.nominalEpochLength = nominalEpochLength(exp.sampler, this.context);
    this.rng = new Rng(`${exp.seed}/sampler`);
    this.epochRngState = this.rng.getState();
    this.beginEpoch(0);
  }

  /** Micro-batches handed out so far. */
  get micro(): number {
    return this.microStep;
  }

  /** The epoch of the last batch handed out (0 before the first). */
  get currentEpoch(): number {
    return this.epoch;
  }

  /** Epochs fully consumed. */
  get epochsCompleted(): number {
    return this.completedEpochs;
  }

  /**
   * The next micro-batch. In the sampled modes the task drawn at a step's first micro-batch holds for the whole
   * step; the later entries are still consumed, so the sampler's stream and epoch lengths stay as without accumulation.
   */
  next(): MicroBatch {
    if (this.position >= this.order.length) this.beginEpoch(this.epoch + 1);
    const entry = this.order[this.position++];
    const stepStart = this.microStep % this.gradAccumulation === 0;
    const taskIdx = stepStart || !this.sampled ? entry : this.stepTask;
    this.stepTask = taskIdx;
    const epochEnd = this.position === this.order.length;
    if (epochEnd) this.completedEpochs++;
    this.microStep++;
    const batch = this.readers[taskIdx].next();
    const weight = this.weights[taskIdx] * (this.siwlm ? this.siwlm.next(taskIdx) : 1);
    return { taskIdx, batch, weight, epoch: this.epoch, epochEnd };
  }

  getState(): MicroBatchScheduleState {
    return {
      microStep: this.microStep,
      epoch: this.epoch,
      epochPosition: this.position,
      completedEpochs: this.completedEpochs,
      epochRngState: [...this.epochRngState] as RngState,
      rngState: this.rng.getState(),
      readers: Object.fromEntries(this.tasks.map((t, i) => [t.name, this.readers[i].position])),
      siwlm: this.siwlm ? this.siwlm.getState() : null,
    };
  }

  /** Puts the schedule back where `s` was taken; `origin` names the state in errors. */
  setState(s: MicroBatchScheduleState, origin: string): void {
    this.tasks.forEach((t, i) => {
      const p = s.readers[t.name];
      if (!p) throw new Error(`${origin}: no batch position for task ${t.name}`);
      this.readers[i].restore(p);
    });
    this.rng = Rng.fromState(s.epochRngState);
    this.epoch = s.epoch;
    this.epochRngState = [...s.epochRngState] as RngState;
    this.order = epochTaskOrder(this.exp.sampler, this.context, s.epoch, this.rng);
    if (this.rng.getState().join(',') !== s.rngState.join(','))
      throw new Error(`${origin}: the sampler state does not reproduce epoch ${s.epoch}'s task order (data sizes changed?)`);
    if (s.epochPosition > this.order.length) throw new Error(`${origin}: epoch position ${s.epochPosition} is past the epoch's ${this.order.length} batches`);
    this.position = s.epochPosition;
    if (this.siwlm) {
      if (!s.siwlm) throw new Error(`${origin}: no SIWLM counter state`);
      this.siwlm.setState(s.siwlm);
    }
    this.microStep = s.microStep;
    this.completedEpochs = s.completedEpochs;
    // A state is taken between optimiser steps, so the next micro-batch starts a step and draws its own task.
    this.stepTask = 0;
  }

  private beginEpoch(epoch: number): void {
    this.epoch = epoch;
    this.epochRngState = this.rng.getState();
    this.order = epochTaskOrder(this.exp.sampler, this.context, epoch, this.rng);
    this.position = 0;
    this.siwlm?.startEpoch(epoch);
  }
}
