import type { HeadMatrix } from '../../engine/analysis/types.ts';

/**
 * The Heads view's colour scales. Every task's map is drawn on one shared scale so maps can be compared by
 * colour; the difference of two tasks on one fixed symmetric scale, the same for every pair.
 */

export type HeadsScale = 'measure' | 'layer' | 'raw';

export const SCALE_LABELS: Record<HeadsScale, string> = {
  measure: 'mask measure: L2 per layer, then min-max (its own normalisation)',
  layer: 'L2 per layer only',
  raw: 'raw Σ|∂loss/∂m|',
};

/** Each layer ÷ its L2 norm over heads (+1e-20): the mask measure's first step, without the min-max. */
export function perLayerL2(raw: HeadMatrix): HeadMatrix {
  return raw.map((row) => {
    const norm = Math.sqrt(row.reduce((s, v) => s + v * v, 0));
    return row.map((v) => v / (norm + 1e-20));
  });
}

export interface ScaledMaps {
  maps: Record<string, HeadMatrix>;
  /** Shared colour domain of the maps. */
  domain: [number, number];
  /** Fixed symmetric domain of any difference of two maps. */
  diffDomain: [number, number];
}

/** The maps in `scale`; raw and per-layer need the raw matrices (null when the results carry none). */
export function scaleMaps(normalized: Record<string, HeadMatrix>, raw: Record<string, HeadMatrix> | null, scale: HeadsScale): ScaledMaps | null {
  if (scale === 'measure') return { maps: normalized, domain: [0, 1], diffDomain: [-1, 1] };
  if (!raw) return null;
  const tasks = Object.keys(normalized).filter((t) => raw[t]);
  if (scale === 'layer') {
    // Per-layer L2 values lie in [0, 1], and so do their differences' magnitudes.
    return { maps: Object.fromEntries(tasks.map((t) => [t, perLayerL2(raw[t])])), domain: [0, 1], diffDomain: [-1, 1] };
  }
  const max = Math.max(1e-20, ...tasks.flatMap((t) => raw[t].flat()));
  return { maps: Object.fromEntries(tasks.map((t) => [t, raw[t]])), domain: [0, max], diffDomain: [-max, max] };
}
