/**
 * How many tokens of each segment survive Google's `_truncate_seq_pair`: while the total exceeds
 * `maxTotal`, pop from the longer segment, and from b when they are equally long.
 * Returns the kept lengths [a, b].
 */
export function truncateSeqPair(lengthA: number, lengthB: number, maxTotal: number): [number, number] {
  if (maxTotal < 0) throw new Error(`truncateSeqPair: maxTotal must be >= 0, got ${maxTotal}`);
  let a = lengthA;
  let b = lengthB;
  // Equivalent closed form of the pop loop: shrink the longer one down to the shorter, then alternate
  // b, a, b, a… (ties pop b first).
  if (a + b <= maxTotal) return [a, b];
  if (a > b) a = Math.max(b, a - (a + b - maxTotal));
  else if (b > a) b = Math.max(a, b - (a + b - maxTotal));
  const excess = a + b - maxTotal;
  if (excess > 0) {
    // Now a === b: the loop pops b, then a, then b…
    b -= Math.ceil(excess / 2);
    a -= Math.floor(excess / 2);
  }
  return [a, b];
}

/** The literal pop loop, kept as the executable definition the closed form is tested against. */
export function truncateSeqPairByPopping(lengthA: number, lengthB: number, maxTotal: number): [number, number] {
  let a = lengthA;
  let b = lengthB;
  while (a + b > maxTotal) {
    if (a > b) a--;
    else b--;
  }
  return [a, b];
}
