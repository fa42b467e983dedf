/** What the trainer reports about speed with each step. */
export interface StepRates {
  /** Training rows and tokens per second of training time (evaluations and saves excluded). */
  examplesPerSec: number;
  tokensPerSec: number;
  /** Wall time per step so far, evaluations and saves included, times the steps left. */
  etaSeconds: number;
  elapsedSeconds: number;
}

/**
 * Throughput and ETA of one training session (from run() to its end). Kept apart from the step itself so
 * the step's arithmetic reads on its own and the clock can be replaced in tests.
 */
export class StepTelemetry {
  private start: number;
  private steps = 0;
  private rows = 0;
  private tokens = 0;
  private trainSeconds = 0;

  constructor(private readonly clock: () => number = () => globalThis.performance.now()) {
    this.start = clock();
  }

  /** Milliseconds on this telemetry's clock; a step passes its start time to `record`. */
  now(): number {
    return this.clock();
  }

  /** Starts a new session: the rates count from here. */
  reset(): void {
    this.start = this.clock();
    this.steps = this.rows = this.tokens = this.trainSeconds = 0;
  }

  /** Counts one finished step that began at `startedMs` and trained `rows` rows of `tokens` tokens. */
  record(rows: number, tokens: number, startedMs: number, stepsLeft: number): StepRates {
    const t = this.clock();
    this.steps++;
    this.rows += rows;
    this.tokens += tokens;
    this.trainSeconds += (t - startedMs) / 1000;
    const elapsed = (t - this.start) / 1000;
    const train = this.trainSeconds;
    return {
      examplesPerSec: train > 0 ? this.rows / train : 0,
      tokensPerSec: train > 0 ? this.tokens / train : 0,
      etaSeconds: (elapsed / this.steps) * stepsLeft,
      elapsedSeconds: elapsed,
    };
  }
}
