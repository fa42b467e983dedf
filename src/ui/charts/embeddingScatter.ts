import * as Plot from '@observablehq/plot';
import type { EmbeddingPoint } from '../../engine/analysis/embeddingMap.ts';
import { TASK_COLORS } from './palette.ts';

/** FastMTL's figure: each dev example's pooled [CLS] feature mapped to 2-D, one colour per task (Plot dot marks). */
export function embeddingScatter(points: readonly EmbeddingPoint[], tasks: readonly string[]): HTMLElement | SVGSVGElement {
  return Plot.plot({
    width: 560,
    height: 480,
    grid: true,
    x: { label: 'UMAP 1', domain: [0, 1] },
    y: { label: 'UMAP 2', domain: [0, 1] },
    color: { domain: tasks, range: TASK_COLORS, legend: true, label: 'task' },
    marks: [
      Plot.dot(points, {
        x: 'x',
        y: 'y',
        fill: 'task',
        r: 3.5,
        fillOpacity: 0.8,
        channels: { uid: 'uid' },
        tip: { format: { x: '.3f', y: '.3f', fill: true, uid: true } },
      }),
    ],
  });
}
