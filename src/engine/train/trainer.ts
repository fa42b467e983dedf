import * as tf from '@tensorflow/tfjs';
import type { LoadedSplit } from '../data/shardReader.ts';
import type { Experiment } from '../experiment/experimentSchema.ts';
import { Rng } from '../runtime/rng.ts';
import { batchToTensors, disposeBatch, realTokens } from './batchTensors.ts';
import { clipGradientsTensor, globalNorm } from './clipGradients.ts';
import { evaluateTasks, type EvaluationResult } from './evaluate.ts';
import type { MultiTaskModel } from '../model/multiTaskModel.ts';
import { createOptimizer, type SlotOptimizer } from './optim/index.ts';
import { MicroBatchSchedule, runTaskOrder, type TaskEntry } from './microBatchSchedule.ts';
import { lrAt, type ScheduleOptions } from './schedule.ts';
import { resumeDifferences } from './resumeDifferences.ts';
import type { RunStatus, StepEvent, TrainerEvent } from './trainEvents.ts';
import { assignVariables, decodeTrainState, encodeTrainState, readVariables, TRAIN_STATE_FORMAT, type TrainState, type TrainStateStore } from './trainState.ts';
import { smartLossExtras, smartOptionsFromExperiment } from './smart.ts';
import { splitThresholdHoldout } from './trainSubset.ts';
import { accumulateGradients, microBatchGradients, type LossExtras } from './trainStep.ts';
import { StepTelemetry } from './stepTelemetry.ts';
import { describeNonFinite, NonFiniteLossError, yieldToEventLoop, type RunResult, type TrainerOptions, type TaskSplits } from './trainerTypes.ts';

export { NonFiniteLossError, type RunResult, type TaskSplits, type TrainerOptions } from './trainerTypes.ts';

/**
 * The step-wise multi-task trainer (MT-DNN `train.py`, docs/methods.md §1.5–1.8; SIWLM §2): every batch holds one task,
 * an epoch's task order comes from the sampler, losses are divided by gradAccumulation and (SIWLM) scaled by
 * task_weight·α, gradients are clipped to a global norm, and the optimiser steps with the warmup schedule over
 * t_total = epochs·Σ batches / gradAccumulation. Dropout masks are seeded per batch, so a seed on one backend
 * gives one loss curve, and a saved state resumes it exactly.
 */
export class Trainer {
  readonly experiment: Experiment;
  readonly model: MultiTaskModel;
  readonly tasks: TaskEntry[];
  readonly optimizer: SlotOptimizer;
  /** Optimiser updates in the whole run. */
  readonly totalSteps: number;
  /** The learning-rate schedule's t_total. */
  readonly scheduleTotal: number;
  /** Micro-batches per epoch (the sampler's epoch length). */
  readonly epochLength: number;
  private readonly schedule: MicroBatchSchedule;
  private readonly splits: TaskSplits[];
  /** Per task: training rows kept out to choose its F1 decision threshold (thresholdHoldout), if any. */
  private readonly holdouts: (LoadedSplit | undefined)[];
  private readonly lrOptions: ScheduleOptions;
  private readonly store?: TrainStateStore;
  private readonly onEvent?: (e: TrainerEvent) => void;
  private readonly lossExtras?: LossExtras;
  private readonly initialModelChecksum?: string;

  private stepCount = 0;
  private lastEvalStep = -1;
  private lastCheckpointStep: number | null = null;
  private lastEvaluation: EvaluationResult | null = null;
  private readonly perTaskLoss: Record<string, number> = {};
  private failure: string | null = null;
  private statusValue: RunStatus = 'idle';
  private pauseRequested = false;
  private stopRequested = false;
  private wake: (() => void) | null = null;
  private readonly telemetry = new StepTelemetry();

  constructor(opts: TrainerOptions) {
    const exp = opts.experiment;
    this.experiment = exp;
    this.model = opts.model;
    this.store = opts.store;
    this.onEvent = opts.onEvent;
    this.initialModelChecksum = opts.initialModelChecksum;
    // SMART follows the experiment unless the caller composes its own extras (the pipeline adds KD too).
    const smart = smartOptionsFromExperiment(exp.smart);
    this.lossExtras = opts.lossExtras ?? (smart ? smartLossExtras(smart) : undefined);
    this.tasks = runTaskOrder(exp);
    for (const t of this.tasks) {
      const slot = this.model.slot(t.name);
      if (slot.choice !== t.head) throw new Error(`trainer: ${t.name} has a ${slot.choice} head but the experiment asks for ${t.head}`);
      if (!opts.data[t.name]) throw new Error(`trainer: no training data for task ${t.name}`);
      if (opts.data[t.name].train.rows === 0) throw new Error(`trainer: the training split of ${t.name} is empty`);
    }
    // thresholdHoldout rows leave the training data here, so every caller (CLI, worker, pipeline) gets the same split.
    const parts = this.tasks.map((t) => splitThresholdHoldout(opts.data[t.name].train, t, exp.seed));
    this.splits = this.tasks.map((t, i) => ({ ...opts.data[t.name], train: parts[i].train }));
    this.holdouts = parts.map((p) => p.holdout);
    this.schedule = new MicroBatchSchedule(
      exp,
      this.splits.map((s) => s.train),
    );
    this.epochLength = this.schedule.epochLength;
    const totalMicro = Math.max(1, Math.round(exp.epochs * this.epochLength));
    // Accumulation runs across epoch ends (MT-DNN counts batches globally); a last partial group is never applied.
    this.totalSteps = Math.floor(totalMicro / exp.gradAccumulation);
    if (this.totalSteps < 1) {
      throw new Error(`trainer: ${totalMicro} batches do not fill one step of gradAccumulation ${exp.gradAccumulation}`);
    }
    this.scheduleTotal = Math.floor((exp.epochs * this.schedule.nominalEpochLength) / exp.gradAccumulation);
    this.lrOptions = { base: exp.optimizer.lr, warmup: exp.schedule.warmup, kind: exp.schedule.kind };

    const o = exp.optimizer;
    const params = [...this.model.namedVariables()].map(([name, variable]) => ({ name, variable }));
    // torch Adam has no decoupled decay (and the schema's default wd is MT-DNN's 0.01): 'adam' ignores it, 'adamw' uses it.
    this.optimizer = createOptimizer(o.kind, params, {
      beta1: o.beta1,
      beta2: o.beta2,
      eps: o.eps,
      weightDecay: o.kind === 'adam' ? undefined : o.weightDecay,
      decayFilter: o.decayFilter,
      maxGradNorm: o.maxGradNorm,
    });
  }

  get step(): number {
    return this.stepCount;
  }

  get currentEpoch(): number {
    return this.schedule.currentEpoch;
  }

  get status(): RunStatus {
    return this.statusValue;
  }

  /** Rows each task keeps out of training for its F1 decision threshold (thresholdHoldout); 0 = none. */
  get thresholdHoldoutRows(): Record<string, number> {
    return Object.fromEntries(this.tasks.map((t, i) => [t.name, this.holdouts[i]?.rows ?? 0]));
  }

  get checkpointStep(): number | null {
    return this.lastCheckpointStep;
  }

  get evaluation(): EvaluationResult | null {
    return this.lastEvaluation;
  }

  /** The learning rate of the update after `steps` updates. */
  learningRate(steps = this.stepCount): number {
    return lrAt(steps, this.scheduleTotal, this.lrOptions);
  }

  pause(): void {
    this.pauseRequested = true;
  }

  resume(): void {
    this.pauseRequested = false;
    this.wake?.();
  }

  /** Ends the run after the current step (a checkpoint is saved when there is a store). */
  stop(): void {
    this.stopRequested = true;
    this.wake?.();
  }

  /** Runs steps until the end of training, a stop() or a non-finite loss. Pausing waits between steps. */
  async run(): Promise<RunResult> {
    this.checkUsable();
    if (this.statusValue === 'running' || this.statusValue === 'paused') throw new Error('trainer: run() is already in progress');
    this.stopRequested = false;
    this.telemetry.reset();
    this.setStatus('running');
    try {
      while (this.stepCount < this.totalSteps && !this.stopRequested) {
        if (this.pauseRequested) {
          this.setStatus('paused');
          await new Promise<void>((r) => (this.wake = r));
          this.wake = null;
          if (!this.stopRequested) this.setStatus('running');
          continue;
        }
        const epochsBefore = this.schedule.epochsCompleted;
        await this.trainStep();
        const epochEnded = this.schedule.epochsCompleted > epochsBefore;
        const every = (n: number) => n > 0 && this.stepCount % n === 0;
        if (epochEnded || every(this.experiment.evalEvery)) await this.evaluate();
        if (this.store && (epochEnded || every(this.experiment.checkpointEvery))) await this.saveCheckpoint();
        await yieldToEventLoop();
      }
      if (this.stopRequested && this.stepCount < this.totalSteps) {
        if (this.store && this.lastCheckpointStep !== this.stepCount) await this.saveCheckpoint();
        this.setStatus('stopped');
        return { status: 'stopped', step: this.stepCount, lastEvaluation: this.lastEvaluation };
      }
      if (this.lastEvalStep !== this.stepCount) await this.evaluate();
      if (this.store && this.lastCheckpointStep !== this.stepCount) await this.saveCheckpoint();
      this.setStatus('done');
      return { status: 'done', step: this.stepCount, lastEvaluation: this.lastEvaluation };
    } catch (e) {
      const message = (e as Error).message;
      this.setStatus('failed', message);
      if (e instanceof NonFiniteLossError) return { status: 'failed', step: this.stepCount, message, lastEvaluation: this.lastEvaluation };
      throw e;
    }
  }

  /** One optimiser update over gradAccumulation batches. Throws NonFiniteLossError (and applies nothing) on NaN/Inf. */
  async trainStep(): Promise<StepEvent> {
    this.checkUsable();
    if (this.stepCount >= this.totalSteps) throw new Error(`trainer: training is complete (${this.totalSteps} steps)`);
    const exp = this.experiment;
    const started = this.telemetry.now();
    const acc = new Map<string, tf.Tensor>();
    const losses: { task: string; loss: tf.Scalar; total: tf.Scalar; weight: number }[] = [];
    let rows = 0;
    let tokens = 0;
    const stepNumber = this.stepCount + 1;
    let gradNormValue: number;
    let event: StepEvent;
    try {
      for (let k = 0; k < exp.gradAccumulation; k++) {
        const microStep = this.schedule.micro;
        const { taskIdx, batch, weight } = this.schedule.next();
        const slot = this.model.slot(this.tasks[taskIdx].name);
        const t = batchToTensors(batch, slot.spec.type, slot.spec.numLabels);
        try {
          const r = microBatchGradients(this.model, slot.spec.name, t, {
            seed: dropoutSeed(exp.seed, microStep),
            weight,
            scale: 1 / exp.gradAccumulation,
            lossExtras: this.lossExtras,
            uids: batch.uids,
          });
          losses.push({ task: slot.spec.name, loss: r.taskLoss, total: r.totalLoss, weight });
          accumulateGradients(acc, r.grads);
        } finally {
          disposeBatch(t);
        }
        rows += batch.batchSize;
        tokens += realTokens(batch);
      }
      const values = await Promise.all(losses.map((l) => l.loss.data()));
      const totals = await Promise.all(losses.map((l) => l.total.data()));
      totals.forEach((v, i) => {
        if (!Number.isFinite(v[0])) this.failNonFinite(`non-finite loss (${describeNonFinite(v[0])})`, stepNumber, losses[i].task);
      });
      // The clipping computes the global norm anyway; without clipping it is computed for the log and the guard.
      const clipped = exp.globalClip > 0 ? clipGradientsTensor(acc, exp.globalClip) : { grads: acc, norm: globalNorm(acc.values()) };
      try {
        const gradNorm = (await clipped.norm.data())[0];
        if (!Number.isFinite(gradNorm))
          this.failNonFinite(`non-finite gradient norm (${describeNonFinite(gradNorm)})`, stepNumber, losses[losses.length - 1].task);
        this.optimizer.step(clipped.grads, (s) => lrAt(s, this.scheduleTotal, this.lrOptions));
        gradNormValue = gradNorm;
      } finally {
        clipped.norm.dispose();
        if (clipped.grads !== acc) tf.dispose([...clipped.grads.values()]);
      }
      const lr = this.learningRate(this.stepCount);
      this.stepCount++;
      let lossSum = 0;
      values.forEach((v, i) => {
        this.perTaskLoss[losses[i].task] = v[0];
        lossSum += v[0];
      });
      event = {
        type: 'step',
        step: this.stepCount,
        totalSteps: this.totalSteps,
        epoch: this.schedule.currentEpoch,
        task: losses[losses.length - 1].task,
        tasks: losses.map((l) => l.task),
        weights: losses.map((l) => l.weight),
        loss: lossSum / values.length,
        perTaskLoss: { ...this.perTaskLoss },
        lr,
        gradNorm: gradNormValue,
        ...this.telemetry.record(rows, tokens, started, this.totalSteps - this.stepCount),
      };
    } catch (e) {
      // Batches were consumed but nothing applied: this trainer's position no longer matches its weights.
      this.failure ??= `step ${stepNumber} failed: ${(e as Error).message}`;
      throw e;
    } finally {
      tf.dispose([...acc.values()]);
      tf.dispose(losses.flatMap((l) => [l.loss, l.total]));
    }
    this.onEvent?.(event);
    return event;
  }

  /** Dev metrics of every task with a dev split (and the mean GLUE score). */
  async evaluate(): Promise<EvaluationResult> {
    const result = await evaluateTasks(
      this.model,
      this.tasks.map((t, i) => ({ spec: this.model.slot(t.name).spec, dev: this.splits[i].dev, holdout: this.holdouts[i] })),
      this.experiment.evalBatchSize,
      { step: this.stepCount, epoch: this.schedule.currentEpoch },
    );
    this.lastEvalStep = this.stepCount;
    this.lastEvaluation = result;
    this.onEvent?.({ type: 'eval', result });
    return result;
  }

  async getState(): Promise<TrainState> {
    this.checkUsable();
    const { slots, ...opt } = await this.optimizer.getState();
    return {
      meta: {
        format: TRAIN_STATE_FORMAT,
        savedAt: new Date().toISOString(),
        experiment: this.experiment,
        tasks: this.tasks.map((t) => t.name),
        step: this.stepCount,
        ...this.schedule.getState(),
        optimizer: opt,
        lastEvalStep: this.lastEvalStep,
        lastEvaluation: this.lastEvaluation,
        ...(this.initialModelChecksum ? { initialModelChecksum: this.initialModelChecksum } : {}),
      },
      model: await readVariables(this.model.namedVariables()),
      optimizer: { ...opt, slots },
    };
  }

  /** Puts the run (model, optimiser, sampler, readers, counters) back where the state was taken. */
  setState(state: TrainState, origin = 'train state'): void {
    if (this.statusValue === 'running') throw new Error('trainer: cannot restore a state while running');
    const m = state.meta;
    const differ = resumeDifferences(m, { experiment: this.experiment, initialModelChecksum: this.initialModelChecksum });
    if (differ.length > 0) throw new Error(`${origin}: saved by a different experiment (fields differ: ${differ.join(', ')}); a resumed run must keep them`);
    const names = this.tasks.map((t) => t.name);
    if (m.tasks.join(',') !== names.join(',')) throw new Error(`${origin}: tasks ${m.tasks.join(', ')} differ from this run's ${names.join(', ')}`);
    assignVariables(this.model.namedVariables(), state.model, origin);
    this.optimizer.setState(state.optimizer);
    this.schedule.setState(m, origin);
    this.stepCount = m.step;
    this.lastEvalStep = m.lastEvalStep;
    // States saved before lastEvaluation was kept have none; the final evaluation is then redone (see run()).
    this.lastEvaluation = m.lastEvaluation ?? null;
    if (m.lastEvaluation === undefined && m.lastEvalStep === m.step) this.lastEvalStep = -1;
    this.lastCheckpointStep = m.step;
    this.failure = null;
  }

  /** Restores the store's latest state; false when the store has none. */
  async restoreFromStore(): Promise<boolean> {
    if (!this.store) throw new Error('trainer: no state store to restore from');
    const stored = await this.store.load();
    if (!stored) return false;
    this.setState(decodeTrainState(stored, this.store.describe()), this.store.describe());
    return true;
  }

  async saveCheckpoint(): Promise<void> {
    if (!this.store) throw new Error('trainer: no state store to save to');
    this.checkUsable();
    await this.store.save(encodeTrainState(await this.getState()), this.stepCount);
    this.lastCheckpointStep = this.stepCount;
    this.onEvent?.({ type: 'checkpoint', step: this.stepCount, where: this.store.describe() });
  }

  dispose(): void {
    this.optimizer.dispose();
  }

  private failNonFinite(what: string, step: number, task: string): never {
    const where = this.lastCheckpointStep === null ? 'no checkpoint was saved' : `last good checkpoint is step ${this.lastCheckpointStep}`;
    const message = `${what} at step ${step} on task ${task}; stopped, ${where}`;
    this.failure = message;
    throw new NonFiniteLossError(message, step, task, this.lastCheckpointStep);
  }

  private checkUsable(): void {
    if (this.failure) throw new Error(`trainer: the run stopped (${this.failure}); restore a checkpoint to continue`);
  }

  private setStatus(status: RunStatus, message?: string): void {
    this.statusValue = status;
    this.onEvent?.({ type: 'status', status, step: this.stepCount, message });
  }
}

/** The dropout seed of the n-th batch of a run: a hash, so it needs no state of its own to resume. */
export function dropoutSeed(seed: number, microStep: number): number {
  return new Rng(`${seed}/dropout/${microStep}`).nextUint32();
}
