import * as Plot from '@observablehq/plot';
import type { LossPoint } from '../../../workers/trainer/types.ts';
import { TASK_COLORS } from './palette.ts';

/** Per-task training loss against the optimiser step: one line per task (Plot line marks), with tooltips. */
export function lossChart(points: readonly LossPoint[], opts: { width?: number; tasks?: readonly string[]; title?: string } = {}): HTMLElement | SVGSVGElement {
  const tasks = opts.tasks ?? [...new Set(points.map((p) => p.task))];
  // Regression (MSE) and classification (CE) losses differ by orders of magnitude: a log axis shows both.
  const log = points.length > 0 && points.every((p) => p.loss > 0);
  return Plot.plot({
    width: opts.width ?? 640,
    height: 300,
    marginLeft: 56,
    grid: true,
    title: opts.title,
    x: { label: 'step', tickFormat: 'd' },
    y: log ? { label: 'training loss (log)', type: 'log', tickFormat: '~g', ticks: 5 } : { label: 'training loss', zero: true },
    color: { domain: tasks, range: TASK_COLORS, legend: true, label: 'task' },
    marks: [
      Plot.line(points, { x: 'step', y: 'loss', z: 'task', stroke: 'task', strokeWidth: 1.6 }),
      Plot.dot(points, Plot.pointerX({ x: 'step', y: 'loss', z: 'task', fill: 'task', r: 3 })),
      Plot.tip(points, Plot.pointerX({ x: 'step', y: 'loss', z: 'task', stroke: 'task', format: { x: true, y: '.4f', stroke: true } })),
    ],
  });
}
