import * as Plot from '@observablehq/plot';

/** One cell of an attention map: query row q attends to key column k with probability `value`. */
export interface AttentionCell {
  q: number;
  k: number;
  value: number;
}

export function attentionCells(matrix: number[][]): AttentionCell[] {
  const cells: AttentionCell[] = [];
  matrix.forEach((row, q) => row.forEach((value, k) => cells.push({ q, k, value })));
  return cells;
}

const MAX_LABEL = 12;
const shorten = (t: string) => (t.length > MAX_LABEL ? `${t.slice(0, MAX_LABEL - 1)}…` : t);

/**
 * An attention heatmap (queries down, keys across) with a viridis colour scale, legend and hover tooltips.
 * Axes are indexed by position so repeated tokens keep their own rows; ticks show the token text. Plot
 * writes labels as SVG text nodes, never as HTML.
 */
export function attentionPlot(tokens: string[], matrix: number[][], opts: { cellSize?: number } = {}): HTMLElement | SVGSVGElement {
  const n = matrix.length;
  if (tokens.length !== n || matrix.some((r) => r.length !== n)) {
    throw new Error(`attentionPlot: ${tokens.length} tokens but a ${n}×${matrix[0]?.length ?? 0} attention matrix`);
  }
  const cell = opts.cellSize ?? Math.max(6, Math.min(26, Math.floor(640 / Math.max(n, 1))));
  // Tick labels read "token index"; leave room for the longest plus the rotated axis label beyond it.
  const longest = Math.max(1, ...tokens.map((t, i) => `${shorten(t)} ${i}`.length));
  const margin = 34 + longest * 6.5;
  const positions = tokens.map((_, i) => i);
  const label = (i: number) => `${shorten(tokens[i] ?? '')} ${i}`;
  const max = Math.max(...matrix.flat(), 1e-9);
  return Plot.plot({
    width: margin + n * cell + 24,
    height: margin + n * cell + 24,
    marginLeft: margin,
    marginBottom: margin,
    marginTop: 24,
    x: { domain: positions, tickFormat: label, tickRotate: -60, label: 'key (attended to)', labelAnchor: 'center', labelOffset: margin - 6 },
    y: { domain: positions, tickFormat: label, label: 'query (attending)', labelAnchor: 'center', labelOffset: margin - 6 },
    color: { type: 'linear', scheme: 'viridis', domain: [0, max], legend: true, label: 'attention probability' },
    marks: [
      Plot.cell(attentionCells(matrix), {
        x: 'k',
        y: 'q',
        fill: 'value',
        inset: 0.5,
        channels: {
          query: { value: (d: AttentionCell) => `${tokens[d.q]} (#${d.q})`, label: 'query' },
          key: { value: (d: AttentionCell) => `${tokens[d.k]} (#${d.k})`, label: 'key' },
        },
        tip: { format: { x: false, y: false, query: true, key: true, fill: '.4f' } },
      }),
    ],
  });
}
