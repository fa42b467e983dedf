/** Largest |a − b| over two nested numeric arrays of the same shape; throws on a shape mismatch. */
export function maxAbsDiff(a: unknown, b: unknown, path = ''): number {
  if (typeof a === 'number' && typeof b === 'number') return Math.abs(a - b);
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) throw new Error(`shape mismatch at ${path || 'root'}: ${a.length} vs ${b.length}`);
    let m = 0;
    for (let i = 0; i < a.length; i++) m = Math.max(m, maxAbsDiff(a[i], b[i], `${path}[${i}]`));
    return m;
  }
  throw new Error(`type mismatch at ${path || 'root'}: ${typeof a} vs ${typeof b}`);
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
