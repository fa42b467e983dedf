import { getTask, TASK_NAMES } from '../../../datasets/glueTasks.ts';
import type { LabelBaseline } from '../../engine/analysis/labelBaselines.ts';
import type { ChanceLine, EvalPoint } from '../charts/overviewCharts.ts';
import { SYNTHETIC_HEADS } from './parameterTable.ts';

/** The metric a task's curve shows: MCC where the task reports it (GLUE's CoLA rule), else accuracy, else the first. */
export function scoreMetricOf(metrics: readonly string[]): string | undefined {
  return metrics.includes('mcc') ? 'mcc' : metrics.includes('acc') ? 'acc' : metrics[0];
}

/** Each task's score-metric curve out of a run's evaluation history. */
export function devCurves(history: readonly EvalPoint[]): EvalPoint[] {
  const byTask = new Map<string, string[]>();
  for (const p of history) byTask.set(p.task, [...new Set([...(byTask.get(p.task) ?? []), p.metric])]);
  const chosen = new Map([...byTask].map(([task, ms]) => [task, scoreMetricOf(ms)]));
  return history.filter((p) => chosen.get(p.task) === p.metric).sort((a, b) => a.step - b.step);
}

function labelCount(task: string): number | null {
  if ((TASK_NAMES as readonly string[]).includes(task)) {
    const t = getTask(task);
    return t.type === 'classification' ? (t.labels?.length ?? null) : null;
  }
  const s = SYNTHETIC_HEADS[task as keyof typeof SYNTHETIC_HEADS];
  return s && s.type === 'classification' ? s.numLabels : null;
}

/**
 * The reference lines of each curve: chance (accuracy 1/k for k classes guessed uniformly; 0 for MCC and
 * correlations) and, when the run sent its label counts, the majority-class predictor's dev score (the
 * constant-mean predictor's for regression), both in the curve's own metric.
 */
export function referenceLines(curves: readonly EvalPoint[], baselines: readonly LabelBaseline[] = []): ChanceLine[] {
  const out: ChanceLine[] = [];
  for (const task of new Set(curves.map((p) => p.task))) {
    const metric = curves.find((p) => p.task === task)!.metric;
    const k = labelCount(task);
    if (metric === 'acc' && k) out.push({ task, kind: 'chance', value: 1 / k, label: `chance 1/${k}` });
    else if (['mcc', 'pearson', 'spearman'].includes(metric)) out.push({ task, kind: 'chance', value: 0, label: 'chance 0' });
    const b = baselines.find((x) => x.task === task);
    const v = b?.metrics[metric as keyof LabelBaseline['metrics']];
    if (b && v !== undefined) {
      const what = b.kind === 'majority' ? `majority class (label ${b.majorityLabel})` : `constant mean ${b.trainMean!.toFixed(3)}`;
      out.push({ task, kind: b.kind, value: v, label: `${what}: ${metric} ${v.toFixed(4)}` });
    }
  }
  return out;
}
