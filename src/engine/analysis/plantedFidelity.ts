import { headCorrelation, type CorrelationMethod } from './taskCorrelation.ts';
import type { HeadMatrix } from './types.ts';

/**
 * Statistics of the planted-relations fidelity study (docs/planted-relations.md): with relations known by
 * construction, each instrument is tested against them. Every p here is exact (enumeration) and one-sided,
 * because each claim says which way the instrument should point.
 */

export interface PairConcordance {
  a: string;
  b: string;
  shares: boolean;
  /** τ-b (or ρ) between the two tasks' importance maps, per seed in `seeds` order. */
  values: number[];
}

export interface ConcordanceTest {
  seeds: number[];
  pairs: PairConcordance[];
  /** Per seed: mean correlation over sharing pairs − mean over pairs sharing nothing. */
  differences: number[];
  /** Mean of `differences`. */
  statistic: number;
  /** Exact: the share of all ways to call k of the P pairs "sharing" whose statistic is ≥ the observed one. */
  pairLabelP: number;
  /** Exact sign-flip test over seeds of `differences` (H0: symmetric about 0). */
  seedSignFlipP: number;
}

const mean = (xs: readonly number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;

/** Number of k-subsets of n. */
export function choose(n: number, k: number): number {
  if (k < 0 || k > n) return 0;
  let c = 1;
  for (let i = 1; i <= k; i++) c = (c * (n - k + i)) / i;
  return Math.round(c);
}

/**
 * Exact one-sided sign-flip test: the share of the 2ⁿ sign assignments to |xᵢ − μ₀| whose mean is at least
 * the observed mean of xᵢ − μ₀. Smallest possible p: 2⁻ⁿ (5 seeds: 0.031).
 */
export function signFlipPValue(xs: readonly number[], mu0 = 0): number {
  if (xs.length === 0) throw new Error('sign-flip test: no values');
  if (xs.length > 24) throw new Error(`sign-flip test: ${xs.length} values is more than 24 (2^n assignments)`);
  const d = xs.map((x) => x - mu0);
  const observed = d.reduce((s, x) => s + x, 0);
  const abs = d.map(Math.abs);
  const tolerance = 1e-12 * Math.max(1, ...abs);
  let extreme = 0;
  const total = 2 ** d.length;
  for (let m = 0; m < total; m++) {
    let s = 0;
    for (let i = 0; i < abs.length; i++) s += m & (1 << i) ? -abs[i] : abs[i];
    if (s >= observed - tolerance) extreme++;
  }
  return extreme / total;
}

/**
 * Do tasks that share a skill have more similar importance maps than tasks that share none? `maps[s][task]`
 * holds seed s's map of each task; every pair of `tasks` is correlated within each seed.
 */
export function skillConcordance(
  maps: ReadonlyMap<number, Readonly<Record<string, HeadMatrix>>>,
  tasks: readonly string[],
  shares: (a: string, b: string) => boolean,
  method: CorrelationMethod = 'kendall_tau_b',
): ConcordanceTest {
  const seeds = [...maps.keys()];
  if (seeds.length === 0) throw new Error('skill concordance: no seeds');
  const pairs: PairConcordance[] = [];
  for (let i = 0; i < tasks.length; i++) {
    for (let j = i + 1; j < tasks.length; j++) {
      const [a, b] = [tasks[i], tasks[j]];
      const values = seeds.map((s) => {
        const m = maps.get(s)!;
        if (!m[a] || !m[b]) throw new Error(`skill concordance: seed ${s} has no map for ${!m[a] ? a : b}`);
        return headCorrelation(m[a], m[b], method);
      });
      pairs.push({ a, b, shares: shares(a, b), values });
    }
  }
  const k = pairs.filter((p) => p.shares).length;
  if (k === 0 || k === pairs.length) throw new Error(`skill concordance: ${k} of ${pairs.length} pairs share a skill; the test needs both kinds`);
  // With one labelling for all seeds, the statistic is a function of the per-pair means over seeds.
  const pairMeans = pairs.map((p) => mean(p.values));
  const statOf = (sharing: ReadonlySet<number>) => {
    let inS = 0;
    let out = 0;
    pairMeans.forEach((v, i) => (sharing.has(i) ? (inS += v) : (out += v)));
    return inS / k - out / (pairs.length - k);
  };
  const observedSet = new Set(pairs.flatMap((p, i) => (p.shares ? [i] : [])));
  const observed = statOf(observedSet);
  const total = choose(pairs.length, k);
  if (total > 2_000_000) throw new Error(`skill concordance: C(${pairs.length}, ${k}) = ${total} labellings is too many to enumerate`);
  const tolerance = 1e-12;
  let extreme = 0;
  const chosen: number[] = [];
  const visit = (start: number) => {
    if (chosen.length === k) {
      if (statOf(new Set(chosen)) >= observed - tolerance) extreme++;
      return;
    }
    for (let i = start; i <= pairs.length - (k - chosen.length); i++) {
      chosen.push(i);
      visit(i + 1);
      chosen.pop();
    }
  };
  visit(0);
  const differences = seeds.map((_, si) => {
    const s = pairs.filter((p) => p.shares).map((p) => p.values[si]);
    const n = pairs.filter((p) => !p.shares).map((p) => p.values[si]);
    return mean(s) - mean(n);
  });
  return { seeds, pairs, differences, statistic: mean(differences), pairLabelP: extreme / total, seedSignFlipP: signFlipPValue(differences) };
}

/** Probability that k candidates drawn uniformly without replacement from `candidates` include at least one of `helpers`. */
export function randomHitProbability(candidates: number, helpers: number, k: number): number {
  if (k <= 0) return 0;
  return 1 - choose(candidates - helpers, k) / choose(candidates, k);
}

/** P(X ≥ hits) for X a sum of independent Bernoulli(pᵢ) (the exact binomial test when all pᵢ are equal). */
export function poissonBinomialTail(probs: readonly number[], hits: number): number {
  let dist = [1];
  for (const p of probs) {
    const next = new Array<number>(dist.length + 1).fill(0);
    dist.forEach((q, i) => {
      next[i] += q * (1 - p);
      next[i + 1] += q * p;
    });
    dist = next;
  }
  return Math.min(
    1,
    dist.slice(Math.max(0, hits)).reduce((s, x) => s + x, 0),
  );
}

/** Area under the ROC curve of `positive` scores against `negative` ones (Mann–Whitney; ties count ½). */
export function rocAuc(positive: readonly number[], negative: readonly number[]): number {
  if (positive.length === 0 || negative.length === 0) throw new Error(`AUC: ${positive.length} positive and ${negative.length} negative scores; need both`);
  const all = [...positive.map((s) => ({ s, pos: true })), ...negative.map((s) => ({ s, pos: false }))].sort((x, y) => x.s - y.s);
  let rankSumPos = 0;
  for (let i = 0; i < all.length;) {
    let j = i;
    while (j < all.length && all[j].s === all[i].s) j++;
    const avgRank = (i + 1 + j) / 2; // ranks i+1 … j
    for (let t = i; t < j; t++) if (all[t].pos) rankSumPos += avgRank;
    i = j;
  }
  const n1 = positive.length;
  return (rankSumPos - (n1 * (n1 + 1)) / 2) / (n1 * negative.length);
}

/** Mean score over a pruning curve's points (area under it, per fraction step). */
export function curveArea(scores: readonly number[]): number {
  if (scores.length === 0) throw new Error('curve area: no points');
  return mean(scores);
}
