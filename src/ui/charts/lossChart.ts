import * as Plot from '@observablehq/plot';
import type { LossPoint } from '../../../workers/trainer/types.ts';
import { TASK_COLORS } from './palette.ts';
import { logTicks, smoothSeries } from './smoothing.ts';

/**
 * Per-task training loss against the optimiser step: one line per task, smoothed by a debiased EMA (the raw
 * points stay faint behind it), on a log axis whose ticks always carry labels.
 */
export function lossChart(
  points: readonly LossPoint[],
  opts: { width?: number; height?: number; tasks?: readonly string[]; title?: string; smoothing?: number } = {},
): HTMLElement | SVGSVGElement {
  const tasks = opts.tasks ?? [...new Set(points.map((p) => p.task))];
  const w = opts.smoothing ?? 0;
  const smoothed: LossPoint[] = tasks.flatMap((task) => {
    const own = points.filter((p) => p.task === task);
    const ys = smoothSeries(
      own.map((p) => p.loss),
      w,
    );
    return own.map((p, i) => ({ ...p, loss: ys[i] }));
  });
  // Regression (MSE) and classification (CE) losses differ by orders of magnitude: a log axis shows both.
  const log = points.length > 0 && points.every((p) => p.loss > 0);
  const ys = points.map((p) => p.loss);
  const ticks = log ? logTicks(Math.min(...ys), Math.max(...ys)) : [];
  return Plot.plot({
    width: opts.width ?? 640,
    height: opts.height ?? 300,
    marginLeft: 56,
    grid: true,
    title: opts.title,
    x: { label: 'step', tickFormat: 'd' },
    y: log
      ? { label: `training loss (log scale${w > 0 ? `, EMA ${w}` : ''})`, type: 'log', tickFormat: '~g', ...(ticks.length ? { ticks } : { ticks: 6 }) }
      : { label: 'training loss', zero: true },
    color: { domain: tasks, range: TASK_COLORS, legend: true, label: 'task' },
    marks: [
      // The raw loss behind the smoothed line, as segments (a link mark), so "line" stays one path per task.
      ...(w > 0
        ? [Plot.link(rawSegments(tasks, points), { x1: 'x1', y1: 'y1', x2: 'x2', y2: 'y2', stroke: 'task', strokeWidth: 1, strokeOpacity: 0.25 })]
        : []),
      Plot.line(smoothed, { x: 'step', y: 'loss', z: 'task', stroke: 'task', strokeWidth: 1.8 }),
      Plot.dot(smoothed, Plot.pointerX({ x: 'step', y: 'loss', z: 'task', fill: 'task', r: 3 })),
      Plot.tip(smoothed, Plot.pointerX({ x: 'step', y: 'loss', z: 'task', stroke: 'task', format: { x: true, y: '.4f', stroke: true } })),
    ],
  });
}

/** Consecutive points of each task as segments. */
function rawSegments(tasks: readonly string[], points: readonly LossPoint[]): { task: string; x1: number; y1: number; x2: number; y2: number }[] {
  return tasks.flatMap((task) => {
    const own = points.filter((p) => p.task === task);
    return own.slice(1).map((p, i) => ({ task, x1: own[i].step, y1: own[i].loss, x2: p.step, y2: p.loss }));
  });
}
