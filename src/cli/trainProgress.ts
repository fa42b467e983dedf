import { MultiBar, Presets } from 'cli-progress';
import { formatDuration, formatEta } from '../engine/runtime/formatDuration.ts';
import type { StepEvent } from '../engine/train/trainEvents.ts';

/** Where progress goes: a terminal gets a redrawn bar, anything else (a log file, CI) plain lines. */
export interface ProgressStream {
  isTTY?: boolean;
  write(text: string): unknown;
}

export interface TrainProgressOptions {
  stream: ProgressStream;
  /** Without a terminal, at most one progress line per this many seconds (plus the first and the last step). */
  lineEverySeconds?: number;
  now?: () => number;
}

export interface TrainProgress {
  /** Before the first step: the step training starts from (> 0 when resuming) and the total. */
  start(step: number, totalSteps: number, epoch: number): void;
  step(e: StepEvent): void;
  /** A message line that must not be drawn over by the bar. */
  log(line: string): void;
  stop(): void;
}

function fmt(x: number, digits = 4): string {
  return Number.isFinite(x) ? x.toFixed(digits) : String(x);
}

/**
 * One step's figures, the same on a terminal and in a log. The ETA says "estimating…" until a step has been timed
 * since this process started (a resumed run has no rate yet either).
 */
function stepFields(e: StepEvent, firstStep: number) {
  const measured = e.step > firstStep && e.examplesPerSec > 0;
  return {
    epoch: String(e.epoch),
    loss: fmt(e.loss),
    lr: e.lr.toExponential(2),
    eps: e.examplesPerSec.toFixed(1),
    tps: e.tokensPerSec.toFixed(0),
    eta: formatEta(e.etaSeconds, measured),
    elapsed: formatDuration(Math.max(0, e.elapsedSeconds)),
  };
}

/** A redrawn bar on a terminal (cli-progress). */
function terminalProgress(stream: ProgressStream): TrainProgress {
  const bars = new MultiBar(
    {
      format: ' {bar} {value}/{total} steps | epoch {epoch} | loss {loss} | lr {lr} | {eps} ex/s | {tps} tok/s | ETA {eta}',
      hideCursor: true,
      stream: stream as NodeJS.WritableStream,
    },
    Presets.shades_classic,
  );
  let bar: ReturnType<MultiBar['create']> | null = null;
  let first = 0;
  return {
    start(step, total, epoch) {
      first = step;
      bar = bars.create(total, step, { epoch, loss: '-', lr: '-', eps: '-', tps: '-', eta: formatEta(null) });
    },
    step(e) {
      bar?.update(e.step, stepFields(e, first));
    },
    log(line) {
      bars.log(`${line}\n`);
    },
    stop() {
      bars.stop();
    },
  };
}

/**
 * Plain lines when nothing redraws them: the first step, then at most one line per `lineEverySeconds`, and the
 * last step. Each line is complete on its own (step of total, percent, loss, rate, elapsed, ETA).
 */
function lineProgress(stream: ProgressStream, lineEverySeconds: number, now: () => number): TrainProgress {
  let first = 0;
  let total = 0;
  let lastLineAt = -Infinity;
  let lastStepShown = -1;
  let last: StepEvent | null = null;
  const show = (e: StepEvent) => {
    const f = stepFields(e, first);
    const pct = total > 0 ? Math.floor((100 * e.step) / total) : 0;
    stream.write(
      `step ${e.step}/${total} (${pct}%) | epoch ${f.epoch} | loss ${f.loss} | lr ${f.lr} | ${f.eps} ex/s | ${f.tps} tok/s | elapsed ${f.elapsed} | ETA ${f.eta}\n`,
    );
    lastLineAt = now();
    lastStepShown = e.step;
  };
  return {
    start(step, totalSteps) {
      first = step;
      total = totalSteps;
    },
    step(e) {
      last = e;
      if (e.step === first + 1 || e.step >= total || now() - lastLineAt >= lineEverySeconds * 1000) show(e);
    },
    log(line) {
      stream.write(`${line}\n`);
    },
    stop() {
      // A run stopped early (Ctrl-C, failure) still ends with the step it reached.
      if (last && last.step !== lastStepShown) show(last);
    },
  };
}

export function trainProgress(o: TrainProgressOptions): TrainProgress {
  return o.stream.isTTY ? terminalProgress(o.stream) : lineProgress(o.stream, o.lineEverySeconds ?? 30, o.now ?? Date.now);
}
