import * as Plot from '@observablehq/plot';
import type { HeadMatrix } from '../../engine/analysis/types.ts';
import { DIVERGING_DIFF, SEQUENTIAL } from './palette.ts';

export interface HeadCell {
  layer: number;
  head: number;
  value: number;
}

export function headCells(m: HeadMatrix): HeadCell[] {
  return m.flatMap((row, layer) => row.map((value, head) => ({ layer, head, value })));
}

/**
 * A layer × head heatmap (Plot cell marks). `diff: true` draws a signed difference on a diverging palette
 * centred on 0; otherwise importance on viridis. `domain` fixes the colour scale (so maps drawn apart share
 * it); without it, [0, 1] or ±the largest |difference|. Hover shows layer, head and the value.
 */
export function headHeatmap(
  m: HeadMatrix,
  opts: { caption?: string; diff?: boolean; label?: string; cell?: number; domain?: [number, number] } = {},
): HTMLElement | SVGSVGElement {
  const L = m.length;
  const A = m[0]?.length ?? 0;
  const cell = opts.cell ?? Math.max(26, Math.min(56, Math.floor(420 / Math.max(A, 1))));
  const maxAbs = Math.max(1e-9, ...m.flat().map(Math.abs));
  return Plot.plot({
    width: 70 + A * cell,
    height: 60 + L * cell,
    marginLeft: 56,
    marginTop: 24,
    marginBottom: 36,
    caption: opts.caption,
    x: { type: 'band', domain: Array.from({ length: A }, (_, i) => i), label: 'head', labelAnchor: 'center' },
    y: { type: 'band', domain: Array.from({ length: L }, (_, i) => i), label: 'layer', labelAnchor: 'center' },
    color: opts.diff
      ? { type: 'diverging', scheme: DIVERGING_DIFF, domain: opts.domain ?? [-maxAbs, maxAbs], pivot: 0, legend: true, label: opts.label ?? 'difference' }
      : { type: 'linear', scheme: SEQUENTIAL, domain: opts.domain ?? [0, 1], legend: true, label: opts.label ?? 'importance (normalised)' },
    marks: [
      Plot.cell(headCells(m), {
        x: 'head',
        y: 'layer',
        fill: 'value',
        inset: 1,
        tip: { format: { x: true, y: true, fill: '.4f' } },
      }),
    ],
  });
}
