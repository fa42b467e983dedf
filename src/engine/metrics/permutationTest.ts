/**
 * Exact two-sided permutation test for a difference in means between two small samples, such as the dev
 * scores of two arms over their seeds: the share of all C(n+m, n) ways of splitting the pooled values into
 * groups of n and m whose |mean difference| is at least the observed one. It assumes nothing about the
 * distribution of the scores, which matters with 3–10 seeds. The smallest p it can give is 2 / C(n+m, n)
 * (with 5 seeds against 5: 2/252 ≈ 0.008, when every value of one arm is above every value of the other).
 */
export function permutationPValue(a: readonly number[], b: readonly number[], maxSplits = 1_000_000): number {
  for (const [name, xs] of [
    ['first', a],
    ['second', b],
  ] as const) {
    if (xs.length === 0) throw new Error(`permutation test: the ${name} sample is empty`);
    const bad = xs.findIndex((x) => !Number.isFinite(x));
    if (bad >= 0) throw new Error(`permutation test: value ${bad + 1} of the ${name} sample is ${xs[bad]}`);
  }
  const n = a.length;
  const m = b.length;
  const splits = binomial(n + m, n);
  if (splits > maxSplits) throw new Error(`permutation test: C(${n + m}, ${n}) = ${splits} splits is more than ${maxSplits}`);
  const pooled = [...a, ...b];
  const total = pooled.reduce((s, x) => s + x, 0);
  const diffOf = (sumFirst: number) => sumFirst / n - (total - sumFirst) / m;
  const observed = Math.abs(diffOf(a.reduce((s, x) => s + x, 0)));
  // Splits that tie the observed difference count as "at least as extreme"; sums in another order differ by rounding.
  const tolerance = 1e-9 * Math.max(1, ...pooled.map(Math.abs));

  let extreme = 0;
  const visit = (start: number, left: number, sum: number): void => {
    if (left === 0) {
      if (Math.abs(diffOf(sum)) >= observed - tolerance) extreme++;
      return;
    }
    for (let i = start; i <= pooled.length - left; i++) visit(i + 1, left - 1, sum + pooled[i]);
  };
  visit(0, n, 0);
  return extreme / splits;
}

function binomial(n: number, k: number): number {
  let c = 1;
  for (let i = 1; i <= k; i++) c = (c * (n - k + i)) / i;
  return Math.round(c);
}
