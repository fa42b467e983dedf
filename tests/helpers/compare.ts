/**
 * Largest |a − b| over two nested numeric arrays of the same shape. A shape mismatch or a NaN throws with the
 * index path, so a wrong layout or a NaN can never pass as a small difference.
 */
export function maxAbsDiff(a: unknown, b: unknown, path = ''): number {
  const where = path || '<root>';
  if (typeof a === 'number' && typeof b === 'number') {
    const d = Math.abs(a - b);
    if (Number.isNaN(d)) throw new Error(`NaN at ${where}: ${a} vs ${b}`);
    return d;
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) throw new Error(`shape mismatch at ${where}: length ${a.length} vs ${b.length}`);
    let m = 0;
    for (let i = 0; i < a.length; i++) m = Math.max(m, maxAbsDiff(a[i], b[i], `${path}[${i}]`));
    return m;
  }
  throw new Error(`shape mismatch at ${where}: ${Array.isArray(a) ? 'array' : typeof a} vs ${Array.isArray(b) ? 'array' : typeof b}`);
}

/** Largest |a − b| / max(|b|, floor) — a relative error that stays meaningful near zero. */
export function maxRelDiff(a: unknown, b: unknown, floor = 1e-6): number {
  if (typeof a === 'number' && typeof b === 'number') return Math.abs(a - b) / Math.max(Math.abs(b), floor);
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) throw new Error(`shape mismatch: ${a.length} vs ${b.length}`);
    let m = 0;
    for (let i = 0; i < a.length; i++) m = Math.max(m, maxRelDiff(a[i], b[i], floor));
    return m;
  }
  throw new Error(`type mismatch: ${typeof a} vs ${typeof b}`);
}
