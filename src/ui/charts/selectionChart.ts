import * as Plot from '@observablehq/plot';
import { DIVERGING_CORR } from './palette.ts';

/** Auxiliary-task candidates ranked by correlation with the target (GradTS's order), as horizontal bars. */
export function rankingChart(rows: readonly { task: string; correlation: number }[], target: string): HTMLElement | SVGSVGElement {
  return Plot.plot({
    width: 520,
    height: 50 + rows.length * 34,
    marginLeft: 110,
    x: { domain: [-1, 1], label: `correlation with ${target}`, grid: true },
    y: { domain: rows.map((r) => r.task), label: null },
    color: { type: 'linear', scheme: DIVERGING_CORR, domain: [-1, 1] },
    marks: [Plot.barX(rows, { x: 'correlation', y: 'task', fill: 'correlation', tip: { format: { x: '.3f', y: true, fill: false } } }), Plot.ruleX([0])],
  });
}
