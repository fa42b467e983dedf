import type { Experiment } from '../../src/engine/experiment/experimentSchema.ts';
import { runSelection } from '../../src/engine/selection/runSelection.ts';
import type { SelectionConfig } from '../../src/engine/selection/selectionConfig.ts';
import type { SelectionResult } from '../../src/engine/selection/selectionResult.ts';
import type { SelectionEnv } from '../../src/engine/selection/trainRunner.ts';
import type { TrainerEvent } from '../../src/engine/train/trainEvents.ts';
import { parseAppExperiment, toInput } from '../../src/urlState/appExperiment.ts';
import type { SelectionProgress } from './types.ts';

/** Step ticks reach the page at most this often (log lines always do). */
const TICK_MS = 250;

export class SelectionStoppedError extends Error {
  constructor() {
    super('selection stopped');
    this.name = 'SelectionStoppedError';
  }
}

/**
 * One auxiliary-task selection in the worker: the engine's `runSelection` over a worker-built env, with its
 * progress and every training run's evaluations and steps turned into page messages.
 *
 * Stopping: the engine has no cancel hook, so `stop()` raises SelectionStoppedError from the next progress
 * callback or trainer event, which unwinds the selection (each run's trainer and model are disposed on the
 * way out). Training stops after the current step; a head-matrix measurement or FastMTL's scoring pass,
 * which emit no events, finish first.
 */
export class SelectionJob {
  private stopRequested = false;
  private readonly started = performance.now();
  private lastTick = -Infinity;

  constructor(
    readonly experiment: Experiment,
    readonly selection: SelectionConfig,
    private readonly onProgress: (p: SelectionProgress) => void,
  ) {}

  stop(): void {
    this.stopRequested = true;
  }

  get stopping(): boolean {
    return this.stopRequested;
  }

  private elapsed(): number {
    return (performance.now() - this.started) / 1000;
  }

  private checkStop(): void {
    if (this.stopRequested) throw new SelectionStoppedError();
  }

  private send(p: Omit<SelectionProgress, 'elapsedSeconds'>): void {
    this.onProgress({ ...p, elapsedSeconds: this.elapsed() });
  }

  private readonly onTrainerEvent = (run: string, e: TrainerEvent): void => {
    this.checkStop();
    if (e.type === 'eval') {
      const scores = e.result.tasks
        .map(
          (t) =>
            `${t.task} ${Object.entries(t.metrics)
              .map(([k, v]) => `${k} ${(v as number).toFixed(4)}`)
              .join(' ')}`,
        )
        .join('; ');
      this.send({ line: `${run}: epoch ${e.result.epoch} step ${e.result.step}: dev ${scores}`, run, step: e.result.step });
    } else if (e.type === 'step') {
      const now = performance.now();
      if (now - this.lastTick < TICK_MS && e.step < e.totalSteps) return;
      this.lastTick = now;
      this.send({ run, step: e.step, totalSteps: e.totalSteps });
    }
  };

  /** Runs the selection on `env` (built after the job exists, so a stop while data loads is not lost). */
  async run(env: SelectionEnv): Promise<SelectionResult> {
    this.checkStop();
    return runSelection({
      base: toInput(this.experiment),
      selection: this.selection,
      env: { ...env, onTrainerEvent: this.onTrainerEvent },
      // The synthetic demo's task names are not GLUE names: its stage experiments go through the same wrapper as its runs.
      parse: parseAppExperiment,
      onProgress: (line) => {
        this.checkStop();
        this.send({ line });
      },
    });
  }
}
