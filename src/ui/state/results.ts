import type { CorrelationUncertainty } from '../../engine/analysis/correlationUncertainty.ts';
import type { CorrelationMethod, TaskCorrelationMatrix } from '../../engine/analysis/taskCorrelation.ts';
import type { HeadMatrix } from '../../engine/analysis/types.ts';
import type { MetricName } from '../../engine/metrics/index.ts';
import type { EvaluationResult } from '../../engine/train/evaluate.ts';
import { cleanName } from '../../urlState/linkSafety.ts';
import type { ResultSnapshot } from '../../urlState/snapshot.ts';
import type { LossPoint, RunSummary } from '../../../workers/trainer/types.ts';

/** The results a view draws, whichever way they arrived: a live run, a stored run, or a shared link. */
export interface ShownResults {
  source: 'live' | 'stored' | 'shared';
  runId: string | null;
  name: string;
  step: number;
  backend: string;
  layers: number;
  heads: number;
  tasks: string[];
  importance: Record<string, HeadMatrix> | null;
  /** The importance before the measure's normalisation (live and stored runs; links carry only the normalised maps). */
  importanceRaw: Record<string, HeadMatrix> | null;
  importanceStep: number | null;
  correlation: Partial<Record<CorrelationMethod, { tasks: string[]; values: (number | null)[][] }>>;
  /** n, permutation p and bootstrap intervals per pair (runs measured by this version; links carry none). */
  uncertainty: Partial<Record<CorrelationMethod, CorrelationUncertainty>>;
  metrics: MetricRow[];
  glueScore: number | null;
  losses: LossPoint[];
}

export interface MetricRow {
  task: string;
  metric: MetricName;
  value: number;
  /** How a class-prediction metric was decided when it was not argmax (an F1 decision threshold). */
  note?: string;
}

export function metricRows(e: EvaluationResult | null): MetricRow[] {
  if (!e) return [];
  return e.tasks.flatMap((t) =>
    Object.entries(t.metrics).map(([metric, value]) => {
      const row: MetricRow = { task: t.task, metric: metric as MetricName, value: value as number };
      const argmax = t.decision?.argmaxMetrics?.[metric as MetricName];
      if (t.decision && argmax !== undefined) {
        row.note = `threshold ${t.decision.threshold.toFixed(3)} from ${t.decision.holdoutRows} held-out training rows; argmax ${(100 * argmax).toFixed(2)}`;
      }
      return row;
    }),
  );
}

const corr = (m: TaskCorrelationMatrix) => ({ tasks: m.tasks, values: m.values.map((r) => r.map((x) => (Number.isFinite(x) ? x : null))) });

export function fromRun(run: RunSummary, losses: LossPoint[], source: 'live' | 'stored'): ShownResults {
  return {
    source,
    runId: run.id,
    name: run.name,
    step: run.step,
    backend: run.backend,
    layers: run.model.layers,
    heads: run.model.heads,
    tasks: run.experiment.tasks.map((t) => t.name),
    importance: run.importance?.tasks ?? null,
    importanceRaw: run.importance?.raw ?? null,
    importanceStep: run.importance?.step ?? null,
    correlation: run.correlation ? { kendall_tau_b: corr(run.correlation.kendall_tau_b), spearman: corr(run.correlation.spearman) } : {},
    uncertainty: run.correlation?.uncertainty ?? {},
    metrics: metricRows(run.evaluation),
    glueScore: run.evaluation && Number.isFinite(run.evaluation.glueScore) ? run.evaluation.glueScore : null,
    losses,
  };
}

export function fromSnapshot(s: ResultSnapshot): ShownResults {
  return {
    source: 'shared',
    runId: null,
    name: s.runName,
    step: s.step,
    backend: s.backend,
    layers: s.layers,
    heads: s.heads,
    tasks: s.tasks,
    importance: s.importance,
    importanceRaw: null,
    importanceStep: s.step,
    correlation: s.correlation ? { [s.correlation.method]: { tasks: s.tasks, values: s.correlation.values } } : {},
    uncertainty: {},
    metrics: s.metrics,
    glueScore: s.glueScore,
    losses: s.losses.flatMap((c) => c.steps.map((step, i) => ({ step, task: c.task, loss: c.values[i] }))),
  };
}

/** What "share results" puts in the link. */
export function toSnapshot(r: ShownResults, method: CorrelationMethod): ResultSnapshot {
  if (!r.importance) throw new Error('no head importance yet: train a few steps first');
  const tasks = r.tasks.filter((t) => r.importance![t]);
  const c = r.correlation[method] ?? Object.values(r.correlation)[0];
  const cm = (r.correlation[method] ? method : (Object.keys(r.correlation)[0] as CorrelationMethod | undefined)) ?? method;
  const byTask = new Map<string, { steps: number[]; values: number[] }>();
  for (const p of r.losses) {
    if (!tasks.includes(p.task)) continue;
    const e = byTask.get(p.task) ?? { steps: [], values: [] };
    e.steps.push(p.step);
    e.values.push(p.loss);
    byTask.set(p.task, e);
  }
  const idx = c ? tasks.map((t) => c.tasks.indexOf(t)) : [];
  return {
    runName: cleanName(r.name),
    step: r.step,
    backend: r.backend,
    layers: r.layers,
    heads: r.heads,
    tasks,
    importance: Object.fromEntries(tasks.map((t) => [t, r.importance![t]])),
    correlation: c && idx.every((i) => i >= 0) ? { method: cm, values: idx.map((i) => idx.map((j) => c.values[i][j])) } : null,
    metrics: r.metrics.filter((m) => tasks.includes(m.task) && m.value >= -1 && m.value <= 1),
    glueScore: r.glueScore,
    losses: [...byTask].map(([task, e]) => ({ task, ...e })),
  };
}
