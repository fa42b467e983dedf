import * as v from 'valibot';
import type { CorrelationMethod } from '../engine/analysis/taskCorrelation.ts';
import type { HeadMatrix } from '../engine/analysis/types.ts';
import type { Experiment } from '../engine/experiment/experimentSchema.ts';
import { METRIC_NAMES, type MetricName } from '../engine/metrics/index.ts';
import { ALL_TASK_NAMES } from './appExperiment.ts';
import { fromBase64Url, toBase64Url } from './hashCodec.ts';
import { cleanName } from './linkSafety.ts';
import { plainMessage } from './plainMessage.ts';

/**
 * A compact copy of a run's results that fits in a link: head-importance matrices quantized to uint8 (they are
 * min-max normalised to [0, 1], so one step is 1/255), the task correlation matrix to 3 decimals, the final dev
 * metrics and a thinned loss curve per task.
 */

export interface ResultSnapshot {
  runName: string;
  step: number;
  backend: string;
  layers: number;
  heads: number;
  tasks: string[];
  /** Per task, [L][A] in [0, 1] (dequantized: multiples of 1/255). */
  importance: Record<string, HeadMatrix>;
  correlation: { method: CorrelationMethod; values: (number | null)[][] } | null;
  metrics: { task: string; metric: MetricName; value: number }[];
  glueScore: number | null;
  losses: { task: string; steps: number[]; values: number[] }[];
}

export const MAX_LOSS_POINTS = 80;
const MAX_LAYERS = 48;
const MAX_HEADS = 64;

const taskName = v.picklist(ALL_TASK_NAMES as [string, ...string[]], 'unknown task');
const int = (min: number, max: number) => v.pipe(v.number(), v.integer('must be an integer'), v.minValue(min), v.maxValue(max));
const bounded = (min: number, max: number) => v.pipe(v.number(), v.finite('must be a finite number'), v.minValue(min), v.maxValue(max));

export const SnapshotWireSchema = v.object({
  runName: v.pipe(v.string(), v.maxLength(200)),
  step: int(0, 1e9),
  backend: v.pipe(v.string(), v.maxLength(32)),
  layers: int(1, MAX_LAYERS),
  heads: int(1, MAX_HEADS),
  tasks: v.pipe(v.array(taskName), v.minLength(1), v.maxLength(16)),
  /** base64url of uint8 [tasks][L][A], row-major. */
  importance: v.pipe(v.string(), v.maxLength(Math.ceil((16 * MAX_LAYERS * MAX_HEADS * 4) / 3) + 4)),
  correlation: v.nullable(
    v.object({
      method: v.picklist(['kendall_tau_b', 'spearman']),
      values: v.pipe(v.array(v.pipe(v.array(v.nullable(bounded(-1, 1))), v.maxLength(16))), v.maxLength(16)),
    }),
  ),
  metrics: v.pipe(
    v.array(v.object({ task: taskName, metric: v.picklist(METRIC_NAMES as [MetricName, ...MetricName[]]), value: bounded(-1, 1) })),
    v.maxLength(96),
  ),
  glueScore: v.nullable(bounded(-1, 1)),
  losses: v.pipe(
    v.array(
      v.object({
        task: taskName,
        steps: v.pipe(v.array(int(0, 1e9)), v.maxLength(MAX_LOSS_POINTS)),
        values: v.pipe(v.array(bounded(0, 1e6)), v.maxLength(MAX_LOSS_POINTS)),
      }),
    ),
    v.maxLength(16),
  ),
});

export type SnapshotWire = v.InferOutput<typeof SnapshotWireSchema>;

const round = (x: number, digits: number) => Number(x.toFixed(digits));
const sig = (x: number) => Number(x.toPrecision(4));

/** Keeps at most `max` points, evenly spaced, always with the first and the last. */
export function thin<T>(points: readonly T[], max = MAX_LOSS_POINTS): T[] {
  if (points.length <= max) return [...points];
  return Array.from({ length: max }, (_, i) => points[Math.round((i * (points.length - 1)) / (max - 1))]);
}

export const quantize = (x: number) => Math.max(0, Math.min(255, Math.round(x * 255)));
export const dequantize = (q: number) => q / 255;

export function packSnapshot(s: ResultSnapshot): SnapshotWire {
  const L = s.layers;
  const A = s.heads;
  const bytes = new Uint8Array(s.tasks.length * L * A);
  s.tasks.forEach((task, t) => {
    const m = s.importance[task];
    if (!m) throw new Error(`snapshot: no importance matrix for ${task}`);
    if (m.length !== L || m.some((r) => r.length !== A)) throw new Error(`snapshot: ${task}'s matrix is not ${L}×${A}`);
    m.forEach((row, l) =>
      row.forEach((x, h) => {
        bytes[(t * L + l) * A + h] = quantize(x);
      }),
    );
  });
  const metrics = s.metrics.filter((m) => Number.isFinite(m.value)).map((m) => ({ ...m, value: round(m.value, 4) }));
  const score = summaryScore(metrics);
  return {
    runName: s.runName.slice(0, 200),
    step: s.step,
    backend: s.backend.slice(0, 32),
    layers: L,
    heads: A,
    tasks: s.tasks,
    importance: toBase64Url(bytes),
    correlation: s.correlation
      ? { method: s.correlation.method, values: s.correlation.values.map((r) => r.map((x) => (x === null || !Number.isFinite(x) ? null : round(x, 3)))) }
      : null,
    metrics,
    // From the metrics as written, the way a reader recomputes it, so a link reads back to the same value.
    glueScore: score === null ? null : round(score, 4),
    losses: s.losses.map((c) => {
      const pts = thin(c.steps.map((step, i) => [step, c.values[i]] as const).filter(([, y]) => Number.isFinite(y)));
      return { task: c.task, steps: pts.map(([x]) => x), values: pts.map(([, y]) => sig(y)) };
    }),
  };
}

/** Validates a snapshot from a link; every problem names its field. */
export function unpackSnapshot(input: unknown): ResultSnapshot {
  const r = v.safeParse(SnapshotWireSchema, input);
  if (!r.success) {
    throw new Error(
      r.issues
        .slice(0, 5)
        .map((i) => `snapshot.${v.getDotPath(i) ?? ''}: ${plainMessage(i.message)}`)
        .join('; '),
    );
  }
  const w = r.output;
  const T = w.tasks.length;
  const L = w.layers;
  const A = w.heads;
  if (new Set(w.tasks).size !== T) throw new Error('snapshot.tasks: a task is listed twice');
  const bytes = fromBase64Url(w.importance);
  if (bytes.length !== T * L * A) throw new Error(`snapshot.importance: ${bytes.length} values for ${T} tasks × ${L} layers × ${A} heads`);
  const importance: Record<string, HeadMatrix> = {};
  w.tasks.forEach((task, t) => {
    importance[task] = Array.from({ length: L }, (_, l) => Array.from({ length: A }, (_, h) => dequantize(bytes[(t * L + l) * A + h])));
  });
  if (w.correlation && (w.correlation.values.length !== T || w.correlation.values.some((row) => row.length !== T))) {
    throw new Error(`snapshot.correlation: expected a ${T}×${T} matrix`);
  }
  for (const m of w.metrics) if (!w.tasks.includes(m.task)) throw new Error(`snapshot.metrics: ${m.task} is not one of the snapshot's tasks`);
  const seen = new Set<string>();
  for (const m of w.metrics) {
    const key = `${m.task}/${m.metric}`;
    if (seen.has(key)) throw new Error(`snapshot.metrics: ${key} is listed twice`);
    seen.add(key);
  }
  for (const c of w.losses) {
    if (!w.tasks.includes(c.task)) throw new Error(`snapshot.losses: ${c.task} is not one of the snapshot's tasks`);
    if (c.steps.length !== c.values.length) throw new Error(`snapshot.losses: ${c.task} has ${c.steps.length} steps but ${c.values.length} values`);
    const back = c.steps.findIndex((step, i) => i > 0 && step <= c.steps[i - 1]);
    if (back > 0) throw new Error(`snapshot.losses: ${c.task}'s steps are not increasing (step ${c.steps[back]} after ${c.steps[back - 1]})`);
    if (c.steps.some((step) => step > w.step)) throw new Error(`snapshot.losses: ${c.task} has a step after the snapshot's step ${w.step}`);
  }
  // The overall score is never taken from the link: it is recomputed from the metrics the link shows.
  return { ...w, runName: cleanName(w.runName), importance, correlation: w.correlation as ResultSnapshot['correlation'], glueScore: summaryScore(w.metrics) };
}

/**
 * GLUE's overall score from per-task metrics: each task scores the mean of its metrics, MCC alone where the
 * task reports MCC (CoLA), and the overall score is the mean over tasks. The same rule as scoreMetrics in
 * src/engine/train/evaluate.ts, which cannot be imported here (it pulls tfjs into the page).
 */
export function summaryScore(metrics: readonly { task: string; metric: MetricName; value: number }[]): number | null {
  const byTask = new Map<string, { metric: MetricName; value: number }[]>();
  for (const m of metrics) byTask.set(m.task, [...(byTask.get(m.task) ?? []), m]);
  const scores = [...byTask.values()].map((ms) => {
    const used = ms.some((m) => m.metric === 'mcc') ? ms.filter((m) => m.metric === 'mcc') : ms;
    return used.reduce((a, m) => a + m.value, 0) / used.length;
  });
  return scores.length ? scores.reduce((a, b) => a + b, 0) / scores.length : null;
}

/** Why a snapshot cannot be shown over this experiment (its model has another shape, or other tasks), or null. */
export function snapshotMismatch(s: ResultSnapshot, exp: Experiment): string | null {
  if (exp.model.kind === 'random' && (exp.model.layers !== s.layers || exp.model.heads !== s.heads)) {
    return `snapshot: its head maps are ${s.layers} layers × ${s.heads} heads but the link's experiment has ${exp.model.layers} × ${exp.model.heads}`;
  }
  const names = exp.tasks.map((t) => t.name);
  const extra = s.tasks.filter((t) => !names.includes(t));
  if (extra.length) return `snapshot.tasks: ${extra.join(', ')} ${extra.length === 1 ? 'is' : 'are'} not in the link's experiment (${names.join(', ')})`;
  return null;
}
