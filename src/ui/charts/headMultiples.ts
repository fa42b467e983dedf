import * as Plot from '@observablehq/plot';
import type { HeadMatrix } from '../../engine/analysis/types.ts';
import { SEQUENTIAL } from './palette.ts';

export interface MultipleCell {
  task: string;
  layer: number;
  head: number;
  value: number;
  col: number;
  row: number;
}

/**
 * Every task's layer × head map as small multiples in one figure: one facet per task, wrapped into rows, all on
 * one colour scale (`domain`) with one legend, so the same colour means the same number in every map.
 */
export function headMultiples(
  maps: Record<string, HeadMatrix>,
  tasks: readonly string[],
  opts: { domain: [number, number]; label: string; width: number; maxCell?: number },
): HTMLElement | SVGSVGElement {
  const L = maps[tasks[0]]?.length ?? 0;
  const A = maps[tasks[0]]?.[0]?.length ?? 0;
  // As many maps a row as fit at the smallest cell, then cells as large as the row allows (up to maxCell).
  // A map is at least as wide as its bold task title (~7.5 px a character), so titles of neighbours never run together.
  const minFacet = Math.max(A * 8 + 24, 7.5 * Math.max(...tasks.map((t) => t.length)));
  const cols = Math.min(tasks.length, Math.max(1, Math.floor((opts.width - 60) / minFacet)));
  const cell = Math.max(8, Math.min(opts.maxCell ?? 22, Math.floor(((opts.width - 60) / cols - 24) / Math.max(A, 1))));
  const rows = Math.ceil(tasks.length / cols);
  const data: MultipleCell[] = tasks.flatMap((task, i) =>
    maps[task].flatMap((r, layer) => r.map((value, head) => ({ task, layer, head, value, col: i % cols, row: Math.floor(i / cols) }))),
  );
  const titles = tasks.map((task, i) => ({ task, col: i % cols, row: Math.floor(i / cols) }));
  const plot = Plot.plot({
    width: 60 + cols * (A * cell + 24),
    height: 50 + rows * (L * cell + 40),
    marginLeft: 40,
    marginTop: 30,
    marginBottom: 20,
    fx: { domain: Array.from({ length: cols }, (_, i) => i), axis: null, padding: 0.12 },
    fy: { domain: Array.from({ length: rows }, (_, i) => i), axis: null, padding: 0.25 },
    x: { type: 'band', domain: Array.from({ length: A }, (_, i) => i), label: 'head', axis: rows > 0 ? 'bottom' : null, tickSize: 0 },
    y: { type: 'band', domain: Array.from({ length: L }, (_, i) => i), label: 'layer', tickSize: 0 },
    color: { type: 'linear', scheme: SEQUENTIAL, domain: opts.domain, legend: true, label: opts.label },
    marks: [
      Plot.cell(data, {
        fx: 'col',
        fy: 'row',
        x: 'head',
        y: 'layer',
        fill: 'value',
        inset: 0.5,
        tip: { format: { fx: false, fy: false, x: true, y: true, fill: '.4f' }, channels: { task: 'task' } },
      }),
      Plot.text(titles, { fx: 'col', fy: 'row', text: 'task', frameAnchor: 'top', dy: -14, fontWeight: 600, fill: 'currentColor' }),
    ],
  });
  // Each cell names its task, layer and head, so a click picks the cell under it (Plot's pointer picks the
  // nearest cell only after a pointer move it has seen). Plot binds each element to its index in `data`.
  for (const rect of plot.querySelectorAll<SVGRectElement>('g[aria-label="cell"] rect')) {
    const d = data[(rect as SVGRectElement & { __data__?: number }).__data__ ?? -1];
    if (d) rect.setAttribute('data-pick', JSON.stringify({ task: d.task, layer: d.layer, head: d.head }));
  }
  return plot;
}
