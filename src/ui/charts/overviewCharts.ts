import * as Plot from '@observablehq/plot';
import { TASK_COLORS } from './palette.ts';

export interface EvalPoint {
  step: number;
  task: string;
  metric: string;
  value: number;
}

/**
 * A reference line: chance (uniform guessing: accuracy 1/k, or 0 for correlation-type metrics and MCC), the
 * majority-class predictor, or the constant-mean predictor (regression).
 */
export interface ChanceLine {
  task: string;
  kind: 'chance' | 'majority' | 'mean';
  value: number;
  label: string;
}

/**
 * Each task's dev score over steps (one metric per task), with its chance level dashed and its majority-class
 * (or constant-mean) score dotted in the same colour, each line titled with its task and value.
 */
export function devMetricChart(
  points: readonly EvalPoint[],
  chance: readonly ChanceLine[],
  opts: { tasks: readonly string[]; width: number; height?: number },
): HTMLElement | SVGSVGElement {
  const shown = chance.filter((c) => opts.tasks.includes(c.task));
  const chanceRows = shown.filter((c) => c.kind === 'chance');
  const baselineRows = shown.filter((c) => c.kind !== 'chance');
  const title = (c: ChanceLine) => `${c.task} ${c.label}`;
  return Plot.plot({
    width: opts.width,
    height: opts.height ?? 240,
    marginLeft: 48,
    grid: true,
    x: { label: 'step', tickFormat: 'd' },
    y: { label: 'dev score (dashed: chance, dotted: majority / mean)', domain: [Math.min(0, ...points.map((p) => p.value), ...shown.map((c) => c.value)), 1] },
    color: { domain: opts.tasks, range: TASK_COLORS, legend: true, label: 'task' },
    marks: [
      Plot.ruleY(chanceRows, { y: 'value', stroke: 'task', strokeDasharray: '4,4', strokeOpacity: 0.8, title }),
      Plot.ruleY(baselineRows, { y: 'value', stroke: 'task', strokeDasharray: '1,3', strokeWidth: 2, title }),
      Plot.line(points, { x: 'step', y: 'value', z: 'task', stroke: 'task', strokeWidth: 1.8, marker: 'circle-stroke' }),
      Plot.tip(points, Plot.pointer({ x: 'step', y: 'value', stroke: 'task', channels: { metric: 'metric' }, format: { x: true, y: '.4f', stroke: true } })),
    ],
  });
}

/** One quantity of the run over steps (learning rate, throughput): a small line chart. */
export function traceChart(
  points: readonly { step: number; value: number }[],
  opts: { label: string; width: number; height?: number; format?: string },
): HTMLElement | SVGSVGElement {
  return Plot.plot({
    width: opts.width,
    height: opts.height ?? 150,
    marginLeft: 64,
    grid: true,
    x: { label: 'step', tickFormat: 'd' },
    y: { label: opts.label, zero: true, tickFormat: opts.format ?? '~g' },
    marks: [
      Plot.line(points, { x: 'step', y: 'value', stroke: 'currentColor', strokeWidth: 1.5 }),
      Plot.tip(points, Plot.pointerX({ x: 'step', y: 'value', format: { x: true, y: '.3~g' } })),
    ],
  });
}
