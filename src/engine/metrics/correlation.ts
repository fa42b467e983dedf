import { checkPair } from './checkInputs.ts';
import { rankdata } from './rank.ts';

const clamp1 = (r: number) => Math.max(-1, Math.min(1, r));

/** Pearson r (scipy.stats.pearsonr's statistic); NaN when either input is constant, as scipy returns. */
export function pearson(x: ArrayLike<number>, y: ArrayLike<number>): number {
  checkPair('pearson', x, y);
  const n = x.length;
  let mx = 0;
  let my = 0;
  for (let i = 0; i < n; i++) {
    mx += x[i];
    my += y[i];
  }
  mx /= n;
  my /= n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = x[i] - mx;
    const dy = y[i] - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  const den = Math.sqrt(sxx * syy);
  return den === 0 ? Number.NaN : clamp1(sxy / den);
}

/** Spearman ρ: Pearson on average ranks (scipy.stats.spearmanr). NaN when either input is constant. */
export function spearman(x: ArrayLike<number>, y: ArrayLike<number>): number {
  checkPair('spearman', x, y);
  return pearson(rankdata(x), rankdata(y));
}

/** Number of inversions of `a` (pairs i < j with a[i] > a[j]), by merge sort; sorts `a` in place. */
function countInversions(a: Int32Array<ArrayBuffer>): number {
  const n = a.length;
  let buf: Int32Array<ArrayBuffer> = new Int32Array(n);
  let src = a;
  let inv = 0;
  for (let width = 1; width < n; width *= 2) {
    for (let lo = 0; lo < n; lo += 2 * width) {
      const mid = Math.min(lo + width, n);
      const hi = Math.min(lo + 2 * width, n);
      let i = lo;
      let j = mid;
      let k = lo;
      while (i < mid && j < hi) {
        if (src[j] < src[i]) {
          inv += mid - i;
          buf[k++] = src[j++];
        } else buf[k++] = src[i++];
      }
      while (i < mid) buf[k++] = src[i++];
      while (j < hi) buf[k++] = src[j++];
    }
    [src, buf] = [buf, src];
  }
  if (src !== a) a.set(src);
  return inv;
}

/** Σ c(c−1)/2 over the runs of consecutive entries of `order` that `same` says are equal. */
function tiedPairs(order: readonly number[], same: (a: number, b: number) => boolean): number {
  let ties = 0;
  for (let i = 0; i < order.length;) {
    let j = i;
    while (j + 1 < order.length && same(order[j + 1], order[i])) j++;
    const c = j - i + 1;
    ties += (c * (c - 1)) / 2;
    i = j + 1;
  }
  return ties;
}

/**
 * Kendall τ-b with ties, as scipy.stats.kendalltau (variant 'b'): (P − Q) / √((n₀ − n_x)(n₀ − n_y)), where n_x
 * and n_y count pairs tied in x and in y (joint ties in both). O(n log n), Knight's algorithm.
 * NaN when either input is constant.
 */
export function kendallTauB(x: ArrayLike<number>, y: ArrayLike<number>): number {
  checkPair('kendall_tau_b', x, y);
  const n = x.length;
  const idx = Array.from({ length: n }, (_, i) => i);
  // Dense ranks of y, so the inversion count works on small integers.
  idx.sort((a, b) => y[a] - y[b]);
  const yRank = new Int32Array(n);
  for (let k = 0, r = 0; k < n; k++) {
    if (k > 0 && y[idx[k]] !== y[idx[k - 1]]) r++;
    yRank[idx[k]] = r;
  }
  const tiesY = tiedPairs(idx, (a, b) => y[a] === y[b]);
  // Sort by (x, y): pairs tied in x then add no inversions, so the count is exactly the discordant pairs.
  idx.sort((a, b) => x[a] - x[b] || yRank[a] - yRank[b]);
  const tiesX = tiedPairs(idx, (a, b) => x[a] === x[b]);
  const tiesXY = tiedPairs(idx, (a, b) => x[a] === x[b] && yRank[a] === yRank[b]);
  const discordant = countInversions(Int32Array.from(idx, (i) => yRank[i]));
  const total = (n * (n - 1)) / 2;
  // Concordant − discordant = total − ties_x − ties_y + ties_xy − 2·discordant.
  const conMinusDis = total - tiesX - tiesY + tiesXY - 2 * discordant;
  const den = Math.sqrt(total - tiesX) * Math.sqrt(total - tiesY);
  return den === 0 ? Number.NaN : clamp1(conMinusDis / den);
}
