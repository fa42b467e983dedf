import * as Plot from '@observablehq/plot';
import { DIVERGING_CORR } from './palette.ts';

export interface CorrCell {
  a: string;
  b: string;
  value: number | null;
}

/** The task × task correlation matrix on a diverging palette over [−1, 1], values written in the cells. */
export function correlationChart(tasks: readonly string[], values: readonly (readonly (number | null)[])[], opts: { label?: string } = {}): HTMLElement | SVGSVGElement {
  const cells: CorrCell[] = tasks.flatMap((a, i) => tasks.map((b, j) => ({ a, b, value: values[i][j] })));
  const cell = Math.max(48, Math.min(90, Math.floor(480 / Math.max(tasks.length, 1))));
  const margin = 24 + 7 * Math.max(...tasks.map((t) => t.length));
  return Plot.plot({
    width: margin + tasks.length * cell + 20,
    height: margin + tasks.length * cell + 20,
    marginLeft: margin,
    marginBottom: margin,
    x: { domain: tasks, label: null, tickRotate: -35 },
    y: { domain: tasks, label: null },
    color: { type: 'linear', scheme: DIVERGING_CORR, domain: [-1, 1], legend: true, label: opts.label ?? 'correlation' },
    marks: [
      Plot.cell(cells, { x: 'b', y: 'a', fill: (d: CorrCell) => d.value ?? NaN, inset: 1, tip: { format: { x: true, y: true, fill: '.3f' } } }),
      Plot.text(cells, { x: 'b', y: 'a', text: (d: CorrCell) => (d.value === null ? 'n/a' : d.value.toFixed(2)), fill: (d: CorrCell) => (d.value !== null && Math.abs(d.value) > 0.55 ? 'white' : 'black') }),
    ],
  });
}
