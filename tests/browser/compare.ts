/** Nested numeric arrays (any depth). */
export type Nested = number | Nested[];

/**
 * Largest |a − b| over two nested arrays of the same shape. A shape mismatch throws with the index path,
 * so a wrong layout can never pass as a small difference.
 */
export function maxAbsDiff(a: Nested, b: Nested, path = ''): number {
  if (typeof a === 'number' || typeof b === 'number') {
    if (typeof a !== 'number' || typeof b !== 'number') throw new Error(`shape mismatch at ${path || '<root>'}: number vs array`);
    const d = Math.abs(a - b);
    if (Number.isNaN(d)) throw new Error(`NaN at ${path || '<root>'}: ${a} vs ${b}`);
    return d;
  }
  if (a.length !== b.length) throw new Error(`shape mismatch at ${path || '<root>'}: length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, maxAbsDiff(a[i]!, b[i]!, `${path}[${i}]`));
  return m;
}
