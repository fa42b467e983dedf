import { Rng } from '../runtime/rng.ts';
import { normalizeMaskImportance } from './importanceNormalize.ts';
import { flattenHeads, headCorrelation, type CorrelationMethod } from './taskCorrelation.ts';
import type { HeadMatrix } from './types.ts';

/**
 * How much a task × task head correlation can be trusted. The correlation of two importance matrices is one
 * number from L·A heads measured on a few probe rows, so each pair gets:
 * - n, the heads compared (with BERT-Tiny's 4 heads, τ can only take a few values);
 * - a permutation p: how often shuffling one task's heads gives |corr| at least as large (exact over all n!
 *   orders when n ≤ 8, otherwise a seeded Monte Carlo estimate with the +1 correction of Phipson & Smyth 2010,
 *   "Permutation p-values should never be zero");
 * - a percentile bootstrap interval (Efron & Tibshirani 1993, ch. 13) over the measurement units — probe batches
 *   or single examples — each task's units resampled with replacement and its importance re-normalised.
 */

export interface PairUncertainty {
  a: string;
  b: string;
  value: number;
  /** Heads compared (L·A). */
  n: number;
  p: number;
  /** Exact enumeration of all n! head orders, or `permutations` random ones. */
  pExact: boolean;
  /** 95 % percentile bootstrap interval; null when a task has a single unit (nothing to resample). */
  interval: [number, number] | null;
  /** The interval contains 0 (or there is none): the sign of the correlation is not established. */
  spansZero: boolean;
}

export interface CorrelationUncertainty {
  method: CorrelationMethod;
  /** Heads per matrix. */
  n: number;
  /** Units (probe batches or examples) per task. */
  units: Record<string, number>;
  bootstrap: number;
  permutations: number;
  /** Upper triangle, row-major over the task order (i < j). */
  pairs: PairUncertainty[];
  /** Set below MIN_SENSIBLE_HEADS heads: too few for any p < 0.05, or few enough that single heads dominate. */
  warning: string | null;
}

export interface UncertaintyOptions {
  method?: CorrelationMethod;
  bootstrap?: number;
  permutations?: number;
  seed?: number;
  /** Raw Σ|grad| → the shown importance; the mask measure's own normalisation by default. */
  normalize?: (raw: HeadMatrix) => HeadMatrix;
}

const EXACT_MAX_HEADS = 8;
/** Below this many heads no permutation test can be significant at 0.05 two-sided for most patterns. */
export const MIN_SENSIBLE_HEADS = 10;

/** Element-wise Σ of |matrices| picked by index. */
function sumAbs(units: readonly HeadMatrix[], pick: readonly number[]): HeadMatrix {
  const out = units[0].map((row) => row.map(() => 0));
  for (const i of pick)
    units[i].forEach((row, l) =>
      row.forEach((v, h) => {
        out[l][h] += Math.abs(v);
      }),
    );
  return out;
}

const corrOf = (x: number[], y: number[], method: CorrelationMethod) => headCorrelation([x], [y], method);

/** Heap's algorithm over the positions of `y`: calls `visit` with every one of the n! orders once. */
function forEachPermutation(y: readonly number[], visit: (perm: number[]) => void): void {
  const a = [...y];
  const c = new Array<number>(a.length).fill(0);
  visit(a);
  let i = 1;
  while (i < a.length) {
    if (c[i] < i) {
      const k = i % 2 === 0 ? 0 : c[i];
      [a[k], a[i]] = [a[i], a[k]];
      visit(a);
      c[i]++;
      i = 1;
    } else {
      c[i] = 0;
      i++;
    }
  }
}

/** Two-sided permutation p of corr(x, y) against shuffled y. */
export function permutationP(x: number[], y: number[], method: CorrelationMethod, permutations: number, rng: Rng): { p: number; exact: boolean } {
  const observed = Math.abs(corrOf(x, y, method));
  if (!Number.isFinite(observed)) return { p: Number.NaN, exact: true };
  // Float noise must not turn an equal |corr| into a smaller one.
  const atLeast = (v: number) => Number.isFinite(v) && Math.abs(v) >= observed - 1e-12;
  if (x.length <= EXACT_MAX_HEADS) {
    let hits = 0;
    let total = 0;
    forEachPermutation(y, (perm) => {
      total++;
      if (atLeast(corrOf(x, perm, method))) hits++;
    });
    return { p: hits / total, exact: true };
  }
  let hits = 0;
  const perm = [...y];
  for (let k = 0; k < permutations; k++) {
    for (let i = perm.length - 1; i > 0; i--) {
      const j = rng.int(i + 1);
      [perm[i], perm[j]] = [perm[j], perm[i]];
    }
    if (atLeast(corrOf(x, perm, method))) hits++;
  }
  return { p: (hits + 1) / (permutations + 1), exact: false };
}

/** Quantile by linear interpolation between order statistics (R's type 7, numpy's default). */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

/** The smallest two-sided p an exact permutation test over n heads can give: 2 / n! (the identity and its reverse). */
export function smallestExactP(n: number): number {
  let f = 1;
  for (let k = 2; k <= n; k++) f *= k;
  return 2 / f;
}

/**
 * Correlations of every task pair with n, permutation p and a bootstrap interval. `units[task]` are the
 * per-unit signed or absolute mask gradients [L][A]; a task's importance is normalize(Σ_units |g|).
 */
export function correlationUncertainty(units: Record<string, HeadMatrix[]>, opts: UncertaintyOptions = {}): CorrelationUncertainty {
  const method = opts.method ?? 'kendall_tau_b';
  const B = opts.bootstrap ?? 1000;
  const P = opts.permutations ?? 2000;
  const normalize = opts.normalize ?? ((m: HeadMatrix) => normalizeMaskImportance(m));
  const tasks = Object.keys(units);
  if (tasks.length < 2) throw new Error(`correlationUncertainty: needs at least two tasks, got ${tasks.length}`);
  for (const t of tasks) if (units[t].length === 0) throw new Error(`correlationUncertainty: ${t} has no measurement units`);
  const shape = (m: HeadMatrix) => `${m.length}×${m[0]?.length ?? 0}`;
  const ref = shape(units[tasks[0]][0]);
  for (const t of tasks)
    for (const m of units[t]) if (shape(m) !== ref) throw new Error(`correlationUncertainty: ${t} has a ${shape(m)} matrix, ${tasks[0]} ${ref}`);

  const all = (t: string) => units[t].map((_, i) => i);
  const observed = Object.fromEntries(tasks.map((t) => [t, flattenHeads(normalize(sumAbs(units[t], all(t))))]));
  const n = observed[tasks[0]].length;
  const rng = new Rng(opts.seed ?? 0);

  // One bootstrap world resamples every task once, so all pairs see the same resamples.
  const resampled: Record<string, number[]>[] = [];
  const canResample = tasks.every((t) => units[t].length > 1);
  if (canResample) {
    const boot = rng.fork('bootstrap');
    for (let b = 0; b < B; b++) {
      resampled.push(
        Object.fromEntries(
          tasks.map((t) => {
            const k = units[t].length;
            const pick = Array.from({ length: k }, () => boot.int(k));
            return [t, flattenHeads(normalize(sumAbs(units[t], pick)))];
          }),
        ),
      );
    }
  }

  const perm = rng.fork('permutation');
  const pairs: PairUncertainty[] = [];
  for (let i = 0; i < tasks.length; i++) {
    for (let j = i + 1; j < tasks.length; j++) {
      const [a, b] = [tasks[i], tasks[j]];
      const value = corrOf(observed[a], observed[b], method);
      const { p, exact } = permutationP(observed[a], observed[b], method, P, perm);
      let interval: [number, number] | null = null;
      if (canResample) {
        const dist = resampled
          .map((w) => corrOf(w[a], w[b], method))
          .filter(Number.isFinite)
          .sort((u, v) => u - v);
        if (dist.length) interval = [quantile(dist, 0.025), quantile(dist, 0.975)];
      }
      pairs.push({ a, b, value, n, p, pExact: exact, interval, spansZero: interval === null || (interval[0] <= 0 && interval[1] >= 0) });
    }
  }
  const floor = smallestExactP(n);
  const headPairs = (n * (n - 1)) / 2;
  const warning =
    n >= MIN_SENSIBLE_HEADS
      ? null
      : floor >= 0.05
        ? `only ${n} heads per task: the smallest possible p is ${floor.toPrecision(2)}, so no correlation here can be told from chance`
        : `only ${n} heads per task: each value rests on ${headPairs} head pairs, so one head moves it by up to ${(2 / headPairs).toFixed(2)}; read the p and the interval, not the colour`;
  return {
    method,
    n,
    units: Object.fromEntries(tasks.map((t) => [t, units[t].length])),
    bootstrap: canResample ? B : 0,
    permutations: n <= EXACT_MAX_HEADS ? 0 : P,
    pairs,
    warning,
  };
}
