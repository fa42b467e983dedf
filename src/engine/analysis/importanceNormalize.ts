import type { HeadMatrix } from './types.ts';

/**
 * Normalisations of [L, A] head-importance matrices, in float64 on plain arrays (the matrices are tiny, and
 * the float64 reference normalises in float64 too).
 */

function checkMatrix(m: HeadMatrix, what: string): void {
  if (m.length === 0 || m[0].length === 0) throw new Error(`${what}: empty importance matrix`);
  const A = m[0].length;
  m.forEach((row, l) => {
    if (row.length !== A) throw new Error(`${what}: layer ${l} has ${row.length} heads, layer 0 has ${A}`);
    row.forEach((v, h) => {
      if (!Number.isFinite(v)) throw new Error(`${what}: entry [${l}, ${h}] is ${v}`);
    });
  });
}

/** Global min-max to [0, 1]; a constant matrix maps to zeros (as the reference and HF bertology). */
export function minMax(m: HeadMatrix): HeadMatrix {
  let lo = Infinity,
    hi = -Infinity;
  for (const row of m)
    for (const v of row) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
  return m.map((row) => row.map((v) => (hi > lo ? (v - lo) / (hi - lo) : 0)));
}

/** Mask measure (Michel et al. 2019 / HF bertology): each layer ÷ its L2 norm over heads (+1e-20), then min-max. */
export function normalizeMaskImportance(raw: HeadMatrix, exponent = 2): HeadMatrix {
  checkMatrix(raw, 'normalizeMaskImportance');
  return minMax(
    raw.map((row) => {
      const norm = Math.pow(
        row.reduce((s, v) => s + Math.pow(v, exponent), 0),
        1 / exponent,
      );
      return row.map((v) => v / (norm + 1e-20));
    }),
  );
}

/** GradTS `layer_normal` (§3.3): each layer ÷ its sum over heads (L1, no epsilon), then min-max.
 * A layer whose gradients are all zero stays zero (the original would divide 0/0 and spread NaN). */
export function normalizeGradts(raw: HeadMatrix): HeadMatrix {
  checkMatrix(raw, 'normalizeGradts');
  return minMax(
    raw.map((row) => {
      const sum = row.reduce((s, v) => s + v, 0);
      return row.map((v) => (sum === 0 ? 0 : v / sum));
    }),
  );
}

/** Element-wise mean of [N][L][A] → [L][A]. */
export function meanMatrix(ms: HeadMatrix[]): HeadMatrix {
  if (ms.length === 0) throw new Error('meanMatrix: no matrices to average');
  return ms[0].map((row, l) => row.map((_, h) => ms.reduce((s, m) => s + m[l][h], 0) / ms.length));
}
