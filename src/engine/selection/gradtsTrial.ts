import type { MetricName } from '../metrics/index.ts';
import { SELECTION_FORMAT, nowMs, secondsSince, type Metrics, type ModelSize, type SelectionResult } from './selectionResult.ts';

/**
 * GradTS-trial (docs/methods.md §3.6, Taskscope decision 8): candidates ordered by head-importance correlation with the
 * target, trial k trains MT-DNN on [target, a₁ … a_k], a greedy rule decides whether trial k+1 runs, and the
 * trial with the best dev score gives the auxiliary set. The trial runner is injected, so the orchestration
 * is the same for the real trainer (`trainRunner.ts`) and for hand-built results in tests.
 */

/** The target's dev metrics at one evaluation (GradTS evaluates after every epoch). */
export interface EpochMetrics {
  epoch: number;
  step?: number;
  metrics: Metrics;
}

export interface TrialOutcome {
  /** Target dev metrics after each epoch, in order; the last entry is the last epoch. */
  epochs: EpochMetrics[];
  wallSeconds?: number;
  examplesProcessed?: number;
}

/** Trains MT-DNN on `tasks` (target first) and reports the target's per-epoch dev metrics. */
export type TrialRunner = (tasks: string[]) => Promise<TrialOutcome>;

/** 'faithful': best of trial k vs LAST epoch of trial k−1 on MCC/F1/Pearson (§7 item 11); 'clean': best vs best on the first metric. */
export type StopRule = 'faithful' | 'clean';

export interface TrialSummary {
  /** Metrics of the best epoch by the first metric (eval_score_best.json). */
  best: Metrics;
  bestEpoch: number;
  /** Metrics of the last epoch (eval_score.json). */
  last: Metrics;
}

export interface TrialRecord extends TrialSummary {
  k: number;
  tasks: string[];
  /** best[selectionMetric]: what the final pick compares. */
  score: number;
  /** The stop rule's comparison: value of this trial vs reference from the previous one. */
  compared: { metric: MetricName; value: number; reference: number; referenceFrom: 'start' | 'last' | 'best' };
  continue: boolean;
  wallSeconds: number;
  examplesProcessed: number;
}

export interface GradtsTrialReasons {
  /** Candidates in trial order (correlation descending). */
  correlations: { task: string; correlation: number }[];
  correlationMethod?: string;
  rule: StopRule;
  selectionMetric: MetricName;
  comparisonMetric: MetricName;
  trials: TrialRecord[];
  /** k of the trial whose task set was chosen (null when no trial ran). */
  selectedTrial: number | null;
  /** Why the chain ended. */
  stoppedBecause: 'rule' | 'candidates exhausted' | 'max trials';
}

export interface GradtsTrialOptions {
  target: string;
  /** Candidate auxiliary tasks with their task-level correlation to the target (any order). */
  correlations: readonly { task: string; correlation: number }[];
  correlationMethod?: string;
  /** The target's metrics in metric_meta order (the registry's: e.g. MRPC acc, f1; CoLA acc, mcc). */
  metrics: readonly MetricName[];
  runTrial: TrialRunner;
  rule?: StopRule;
  /** Run at most this many trials (the original runs up to all candidates). */
  maxTrials?: number;
  model?: ModelSize;
  /** Called after each trial (progress in the CLI and the page). */
  onTrial?: (t: TrialRecord) => void;
}

/** The trial order: correlation descending; ties keep the input order; NaN (constant matrices) last. */
export function orderCandidates(correlations: readonly { task: string; correlation: number }[], target: string): { task: string; correlation: number }[] {
  const seen = new Set<string>();
  for (const c of correlations) {
    if (c.task === target) throw new Error(`gradts-trial: the target ${target} is listed among its own candidates`);
    if (seen.has(c.task)) throw new Error(`gradts-trial: candidate ${c.task} is listed twice`);
    seen.add(c.task);
  }
  const key = (x: number) => (Number.isNaN(x) ? -Infinity : x);
  return correlations
    .map((c, i) => ({ c, i }))
    .sort((a, b) => {
      const d = key(b.c.correlation) - key(a.c.correlation); // NaN when both are NaN
      return d !== 0 && !Number.isNaN(d) ? d : a.i - b.i;
    })
    .map(({ c }) => ({ task: c.task, correlation: c.correlation }));
}

/** The stop rule's metric: the first, or with several, MCC / F1 / Pearson (read_trial_results.py). */
export function comparisonMetric(metrics: readonly MetricName[]): MetricName {
  if (metrics.length === 0) throw new Error('gradts-trial: the target has no metrics');
  if (metrics.length === 1) return metrics[0];
  for (const m of ['mcc', 'f1', 'pearson'] as const) if (metrics.includes(m)) return m;
  return metrics[0];
}

function metricValue(m: Metrics, name: MetricName, where: string): number {
  const v = m[name];
  if (v === undefined) throw new Error(`gradts-trial: ${where} has no ${name} (metrics: ${Object.keys(m).join(', ') || 'none'})`);
  return v;
}

/** Best epoch by the first metric (record_eval_best keeps the first epoch reaching the maximum) and the last epoch. */
export function summarizeTrial(epochs: readonly EpochMetrics[], metric: MetricName, where = 'trial'): TrialSummary {
  if (epochs.length === 0) throw new Error(`gradts-trial: ${where} has no dev evaluation (does the target have a dev split?)`);
  let bestIdx = -1;
  let bestValue = -Infinity;
  epochs.forEach((e, i) => {
    const v = metricValue(e.metrics, metric, `${where} epoch ${e.epoch}`);
    if (bestIdx < 0 || v > bestValue) {
      bestIdx = i;
      bestValue = v;
    }
  });
  return { best: { ...epochs[bestIdx].metrics }, bestEpoch: epochs[bestIdx].epoch, last: { ...epochs[epochs.length - 1].metrics } };
}

/** Runs the trial chain and picks the auxiliary set. Trial 1 always runs; a NaN score ends the chain. */
export async function runGradtsTrial(o: GradtsTrialOptions): Promise<SelectionResult<GradtsTrialReasons>> {
  const started = nowMs();
  const rule = o.rule ?? 'faithful';
  const order = orderCandidates(o.correlations, o.target);
  const selectionMetric = o.metrics[0];
  if (!selectionMetric) throw new Error(`gradts-trial: the target ${o.target} has no metrics`);
  const cmpMetric = rule === 'faithful' ? comparisonMetric(o.metrics) : selectionMetric;
  const limit = Math.min(order.length, o.maxTrials ?? order.length);
  if (!Number.isInteger(limit) || limit < 0) throw new Error(`gradts-trial: maxTrials must be a non-negative integer, got ${o.maxTrials}`);

  const trials: TrialRecord[] = [];
  let stoppedBecause: GradtsTrialReasons['stoppedBecause'] = limit < order.length ? 'max trials' : 'candidates exhausted';
  let examples = 0;
  for (let k = 1; k <= limit; k++) {
    const tasks = [o.target, ...order.slice(0, k).map((c) => c.task)];
    const t0 = nowMs();
    const outcome = await o.runTrial(tasks);
    const where = `trial ${k} (${tasks.join(', ')})`;
    const summary = summarizeTrial(outcome.epochs, selectionMetric, where);
    const prev = trials[trials.length - 1];
    const reference = !prev ? -10000 : rule === 'faithful' ? metricValue(prev.last, cmpMetric, `trial ${prev.k} last epoch`) : prev.score;
    const value = metricValue(summary.best, cmpMetric, `${where} best epoch`);
    const record: TrialRecord = {
      k,
      tasks,
      ...summary,
      score: metricValue(summary.best, selectionMetric, `${where} best epoch`),
      compared: { metric: cmpMetric, value, reference, referenceFrom: !prev ? 'start' : rule === 'faithful' ? 'last' : 'best' },
      continue: value >= reference,
      wallSeconds: outcome.wallSeconds ?? secondsSince(t0),
      examplesProcessed: outcome.examplesProcessed ?? 0,
    };
    examples += record.examplesProcessed;
    trials.push(record);
    o.onTrial?.(record);
    if (!record.continue) {
      stoppedBecause = 'rule';
      break;
    }
  }

  // read_trial_results.py: the highest best-epoch first metric over all finished trials; ties → the later trial.
  let pick: TrialRecord | null = null;
  for (const t of trials) if (!Number.isNaN(t.score) && (!pick || t.score >= pick.score)) pick = t;
  return {
    format: SELECTION_FORMAT,
    method: 'gradts-trial',
    target: o.target,
    chosen: pick ? pick.tasks.slice(1) : [],
    reasons: {
      correlations: order,
      correlationMethod: o.correlationMethod,
      rule,
      selectionMetric,
      comparisonMetric: cmpMetric,
      trials,
      selectedTrial: pick ? pick.k : null,
      stoppedBecause,
    },
    wallSeconds: secondsSince(started),
    examplesProcessed: examples,
    model: o.model,
  };
}
