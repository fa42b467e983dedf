import * as Plot from '@observablehq/plot';
import { DIVERGING_CORR } from './palette.ts';

export interface CorrCell {
  a: string;
  b: string;
  value: number | null;
  /** The bootstrap interval contains 0 (or there is none): drawn faded and hatched, the sign is not established. */
  uncertain: boolean;
  p: number | null;
}

/**
 * The upper triangle of the task × task correlation matrix (the lower half would repeat it) on a diverging
 * palette over [−1, 1]. Cells whose interval spans 0 are drawn faded with a hatch, so only established signs
 * carry full colour; each cell's text gives the value and, when known, the permutation p.
 */
export function correlationChart(
  cells: readonly CorrCell[],
  tasks: readonly string[],
  opts: { label?: string; cell?: number } = {},
): HTMLElement | SVGSVGElement {
  const rows = tasks.slice(0, -1);
  const cols = tasks.slice(1);
  const cell = opts.cell ?? Math.max(64, Math.min(96, Math.floor(480 / Math.max(cols.length, 1))));
  const margin = 24 + 7 * Math.max(...tasks.map((t) => t.length));
  const text = (d: CorrCell) => (d.value === null ? 'n/a' : `${d.value.toFixed(2)}${d.p === null ? '' : `\np ${d.p < 0.001 ? '<0.001' : d.p.toFixed(3)}`}`);
  return Plot.plot({
    width: margin + cols.length * cell + 20,
    height: 70 + rows.length * cell + 10,
    marginLeft: margin,
    marginTop: 70,
    marginBottom: 10,
    x: { domain: cols, label: null, axis: 'top', tickRotate: -30 },
    y: { domain: rows, label: null },
    color: { type: 'linear', scheme: DIVERGING_CORR, domain: [-1, 1], legend: true, label: opts.label ?? 'correlation' },
    marks: [
      Plot.cell(cells, {
        x: 'b',
        y: 'a',
        fill: (d: CorrCell) => d.value ?? NaN,
        fillOpacity: (d: CorrCell) => (d.uncertain ? 0.3 : 1),
        inset: 1,
        tip: { format: { x: true, y: true, fill: '.3f' } },
      }),
      // A dashed square (a dot mark, so the chart's "cell" group stays one per pair) marks an interval spanning 0.
      Plot.dot(
        cells.filter((d) => d.uncertain),
        { x: 'b', y: 'a', symbol: 'square', r: cell / 2 - 4, fill: 'none', stroke: 'currentColor', strokeDasharray: '3,3' },
      ),
      Plot.text(cells, {
        x: 'b',
        y: 'a',
        text,
        lineHeight: 1.2,
        fill: (d: CorrCell) => (!d.uncertain && d.value !== null && Math.abs(d.value) > 0.55 ? 'white' : 'currentColor'),
      }),
    ],
  });
}
