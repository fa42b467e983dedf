import * as tf from '@tensorflow/tfjs';
import { labelBaseline } from '../../src/engine/analysis/labelBaselines.ts';
import { correlationUncertainty } from '../../src/engine/analysis/correlationUncertainty.ts';
import { batchMeanLossMaskGrad } from '../../src/engine/analysis/headImportance.ts';
import { normalizeMaskImportance } from '../../src/engine/analysis/importanceNormalize.ts';
import { taskCorrelationMatrix } from '../../src/engine/analysis/taskCorrelation.ts';
import type { HeadMatrix } from '../../src/engine/analysis/types.ts';
import { BatchReader } from '../../src/engine/data/batchReader.ts';
import type { LoadedSplit } from '../../src/engine/data/shardReader.ts';
import { batchToTensors, disposeBatch } from '../../src/engine/train/batchTensors.ts';
import { subsetSplit } from '../../src/engine/train/memorySplit.ts';
import type { MultiTaskModel } from '../../src/engine/model/multiTaskModel.ts';
import type { TrainerEvent } from '../../src/engine/train/trainEvents.ts';
import type { RunResult, TaskSplits, Trainer } from '../../src/engine/train/trainer.ts';
import { putRun, summaryOf } from './runStore.ts';
import type { ImportanceState, LossPoint, RunRecord, RunUpdate } from './types.ts';

/** Page updates are batched: at most one every this many ms (plus one on every status, eval or checkpoint). */
const FLUSH_MS = 200;
/** Older loss points are thinned to every other one beyond this many (a run record stays small). */
const MAX_STORED_LOSSES = 6000;
/** Probe rows are measured in this many batches: the units the correlation bootstrap resamples. */
const PROBE_UNITS = 8;
/** Learning-rate and throughput points kept per run (older ones thinned). */
const TRACE_POINTS = 400;

/**
 * One training run in the worker: drives the engine's Trainer, streams batched updates to the page, measures
 * head importance when training starts and every `importanceEvery` steps on fixed dev probe batches (mask measure, eval mode) and keeps
 * the run record in IndexedDB in step with the trainer's checkpoints.
 */
export class LiveRun {
  private pending: LossPoint[] = [];
  private resetNext = false;
  private flushTimer: ReturnType<typeof setTimeout> | null = null;
  private importanceJob: Promise<void> | null = null;
  private importanceDue = false;
  private persisting: Promise<void> = Promise.resolve();
  private probes: Record<string, LoadedSplit>;
  private userPaused = false;
  finished = false;

  constructor(
    readonly record: RunRecord,
    readonly trainer: Trainer,
    readonly model: MultiTaskModel,
    readonly splits: Record<string, TaskSplits>,
    private readonly onUpdate: (u: RunUpdate) => void,
  ) {
    // Counted once per run from the rows it trains on; a resumed run keeps the counts it started with.
    record.baselines ??= Object.entries(splits).flatMap(([task, s]) => labelBaseline(model.slot(task).spec, s.train, s.dev) ?? []);
    this.probes = Object.fromEntries(
      Object.entries(splits).map(([task, s]) => {
        const from = s.dev && s.dev.rows > 0 ? s.dev : s.train;
        const n = Math.min(record.options.probeRows, from.rows);
        return [
          task,
          subsetSplit(
            from,
            Array.from({ length: n }, (_, i) => i),
          ),
        ];
      }),
    );
  }

  get id(): string {
    return this.record.id;
  }

  /** The trainer's event handler (pass it as `onEvent` when constructing the Trainer). */
  readonly handle = (e: TrainerEvent): void => {
    const r = this.record;
    switch (e.type) {
      case 'step': {
        const tasks = [...new Set(e.tasks)];
        for (const task of tasks) {
          const point = { step: e.step, task, loss: e.perTaskLoss[task] };
          r.losses.push(point);
          this.pending.push(point);
        }
        Object.assign(r, {
          step: e.step,
          totalSteps: e.totalSteps,
          lr: e.lr,
          examplesPerSec: e.examplesPerSec,
          etaSeconds: e.etaSeconds,
          elapsedSeconds: e.elapsedSeconds,
        });
        r.trace = [...(r.trace ?? []), { step: e.step, lr: e.lr, examplesPerSec: e.examplesPerSec }];
        // Thinned to every other point when full, so the summary sent with each update stays small.
        if (r.trace.length > TRACE_POINTS) r.trace = r.trace.filter((_, i) => i % 2 === 1 || i === r.trace!.length - 1);
        if (e.step % r.options.importanceEvery === 0) this.importanceDue = true;
        this.maybeStartImportance();
        this.scheduleFlush(false);
        break;
      }
      case 'eval':
        r.evaluation = e.result;
        r.evalHistory = [
          ...(r.evalHistory ?? []).filter((x) => x.step !== e.result.step),
          ...e.result.tasks.flatMap((t) =>
            Object.entries(t.metrics)
              .filter(([, v]) => Number.isFinite(v))
              .map(([metric, value]) => ({ step: e.result.step, task: t.task, metric, value: value as number })),
          ),
        ];
        this.scheduleFlush(true);
        break;
      case 'checkpoint':
        r.checkpointStep = e.step;
        this.persist();
        this.scheduleFlush(true);
        break;
      case 'status':
        r.status = e.status;
        r.message = e.message;
        this.persist();
        this.scheduleFlush(true);
        break;
    }
  };

  /** Runs to the end (or stop/failure); the final importance is measured and the record saved before it resolves. */
  async run(opts: { resetLosses?: boolean } = {}): Promise<RunResult> {
    this.resetNext = Boolean(opts.resetLosses);
    if (this.resetNext) this.pending = [...this.record.losses];
    this.record.totalSteps = this.trainer.totalSteps;
    this.record.step = this.trainer.step;
    this.flush();
    // A first map at once: measure the model as training starts (step 0, or the step a resumed run continues
    // from) instead of leaving the Heads view empty until step `importanceEvery`. It runs alongside the first
    // steps like every other measurement; awaiting it first would let a Stop pressed meanwhile be lost, since
    // Trainer.run() clears an earlier stop request.
    if (this.record.importance?.step !== this.trainer.step) {
      this.importanceDue = true;
      this.maybeStartImportance();
    }
    let result: RunResult;
    try {
      result = await this.trainer.run();
    } catch (e) {
      this.record.status = 'failed';
      this.record.message = (e as Error).message;
      throw e;
    } finally {
      await this.importanceJob?.catch(() => {});
      this.finished = true;
    }
    if (result.status !== 'failed' && this.record.importance?.step !== this.trainer.step) {
      await this.measureImportance().catch((e) => {
        this.record.message = `head importance failed: ${(e as Error).message}`;
      });
    }
    this.record.status = result.status;
    if (result.message) this.record.message = result.message;
    this.persist();
    await this.persisting;
    this.flush();
    return result;
  }

  pause(): void {
    this.userPaused = true;
    this.trainer.pause();
  }

  resume(): void {
    this.userPaused = false;
    this.trainer.resume();
  }

  get paused(): boolean {
    return this.userPaused;
  }

  stop(): void {
    this.trainer.stop();
  }

  /**
   * Importance of the model as it is now on every task's probe rows, split into up to PROBE_UNITS probe batches
   * (the live mask measure, Σ over batches of |∂ mean loss/∂m|, normalised); the batches are also the units the
   * correlations' bootstrap intervals resample.
   */
  async measureImportance(): Promise<ImportanceState> {
    const step = this.trainer.step;
    const tasks: Record<string, HeadMatrix> = {};
    const probeRows: Record<string, number> = {};
    const units: Record<string, HeadMatrix[]> = {};
    const raw: Record<string, HeadMatrix> = {};
    for (const task of this.model.tasks) {
      const probe = this.probes[task];
      if (!probe || probe.rows === 0) continue;
      const spec = this.model.slot(task).spec;
      const batchSize = Math.ceil(probe.rows / PROBE_UNITS);
      const reader = new BatchReader([probe], { batchSize, seed: 0, shuffle: false, bucketBatches: 1 });
      const grads: HeadMatrix[] = [];
      for (let k = 0; k < Math.ceil(probe.rows / batchSize); k++) {
        const t = batchToTensors(reader.next(), spec.type, spec.numLabels);
        try {
          grads.push(await batchMeanLossMaskGrad(this.model.encoder, this.model.head(task), t, { taskId: this.model.taskId(task) }));
        } finally {
          disposeBatch(t);
        }
      }
      units[task] = grads;
      raw[task] = grads[0].map((row, l) => row.map((_, h) => grads.reduce((s, g) => s + Math.abs(g[l][h]), 0)));
      tasks[task] = normalizeMaskImportance(raw[task]);
      probeRows[task] = probe.rows;
    }
    const state: ImportanceState = { step, measure: 'mask', tasks, raw, probeRows };
    this.record.importance = state;
    if (Object.keys(tasks).length >= 2) {
      const uncertainty = (method: 'kendall_tau_b' | 'spearman') => correlationUncertainty(units, { method, bootstrap: 500, permutations: 1000, seed: step });
      this.record.correlation = {
        step,
        kendall_tau_b: taskCorrelationMatrix(tasks, 'kendall_tau_b'),
        spearman: taskCorrelationMatrix(tasks, 'spearman'),
        uncertainty: { kendall_tau_b: uncertainty('kendall_tau_b'), spearman: uncertainty('spearman') },
      };
    }
    this.scheduleFlush(true);
    return state;
  }

  /**
   * Starts a measurement when one is due and none is running. It interleaves with training at await points:
   * every tensor op is synchronous inside tf.tidy, and the measurement only reads the variables.
   */
  private maybeStartImportance(): void {
    if (!this.importanceDue || this.importanceJob || this.finished) return;
    this.importanceDue = false;
    this.importanceJob = this.measureImportance()
      .then(
        () => undefined,
        (e) => {
          this.record.message = `head importance failed: ${(e as Error).message}`;
        },
      )
      .finally(() => {
        this.importanceJob = null;
      });
  }

  private persist(): void {
    const r = this.record;
    if (r.losses.length > MAX_STORED_LOSSES) {
      const keep = r.losses.length - MAX_STORED_LOSSES / 2;
      r.losses = [...r.losses.slice(0, keep).filter((_, i) => i % 2 === 0), ...r.losses.slice(keep)];
    }
    r.updatedAt = new Date().toISOString();
    const snapshot = structuredClone(r);
    this.persisting = this.persisting
      .then(() => putRun(snapshot))
      .catch((e) => {
        r.message = `could not save the run record: ${(e as Error).message}`;
      });
  }

  private scheduleFlush(now: boolean): void {
    if (now) {
      this.flush();
      return;
    }
    this.flushTimer ??= setTimeout(() => this.flush(), FLUSH_MS);
  }

  private flush(): void {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = null;
    const update: RunUpdate = {
      summary: { ...summaryOf(this.record), backend: tf.getBackend() },
      newLosses: this.pending,
      ...(this.resetNext ? { reset: true } : {}),
    };
    this.pending = [];
    this.resetNext = false;
    this.onUpdate(update);
  }
}
