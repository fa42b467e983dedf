import { describe, expect, it } from 'vitest';
import { correlationUncertainty, quantile, smallestExactP } from '../../src/engine/analysis/correlationUncertainty.ts';
import { Rng } from '../../src/engine/runtime/rng.ts';
import { permutationP } from '../../src/engine/analysis/correlationUncertainty.ts';

const identity = (m: number[][]) => m;
/** One layer of four heads. */
const row = (...xs: number[]) => [xs];

describe('task correlation with its uncertainty', () => {
  it('exact permutation p over 4 heads equals the count by hand (Mahonian numbers 1 3 5 6 5 3 1)', () => {
    const rng = new Rng(1);
    // τ = 1: only the identity and the reversal reach |τ| = 1 among 4! = 24 orders.
    expect(permutationP([1, 2, 3, 4], [1, 2, 3, 4], 'kendall_tau_b', 0, rng)).toEqual({ p: 2 / 24, exact: true });
    // One inversion: τ = (5 − 1)/6 = 2/3; |τ| ≥ 2/3 needs 0, 1, 5 or 6 inversions: 1 + 3 + 3 + 1 = 8 orders.
    expect(permutationP([1, 2, 3, 4], [1, 2, 4, 3], 'kendall_tau_b', 0, rng)).toEqual({ p: 8 / 24, exact: true });
    expect(smallestExactP(4)).toBe(2 / 24);
  });

  it('Monte Carlo p for more than 8 heads is (hits + 1)/(P + 1) and small for a perfect order', () => {
    const x = Array.from({ length: 12 }, (_, i) => i);
    const { p, exact } = permutationP(x, x, 'kendall_tau_b', 999, new Rng(3));
    expect(exact).toBe(false);
    // 2/12! ≈ 4e-9, so no random order hits: p = 1/1000.
    expect(p).toBe(1 / 1000);
  });

  it('bootstrap interval over units equals the hand-derived support, and flags an interval spanning 0', () => {
    // A never changes order. B's units: v1 ranks like A (τ 1), v2 = [2,1,4,3] (τ 1/3), v1 + v2 = [3,3,7,7] (τ-b 4/√24).
    // Resampling two units gives 2·v1, v1 + v2, 2·v2 with probability ¼, ½, ¼, so the 2.5 % and 97.5 %
    // quantiles of 4000 resamples are 1/3 and 1.
    const r = correlationUncertainty(
      {
        A: [row(1, 2, 3, 4), row(1, 2, 3, 4)],
        B: [row(1, 2, 3, 4), row(2, 1, 4, 3)],
        C: [row(1, 2, 3, 4), row(8, 6, 4, 2)],
      },
      { normalize: identity, bootstrap: 4000, seed: 7 },
    );
    expect(r.n).toBe(4);
    expect(r.units).toEqual({ A: 2, B: 2, C: 2 });
    expect(r.pairs.map((p) => `${p.a}-${p.b}`)).toEqual(['A-B', 'A-C', 'B-C']);
    const ab = r.pairs[0];
    expect(ab.value).toBeCloseTo(4 / Math.sqrt(24), 12);
    expect(ab.interval![0]).toBeCloseTo(1 / 3, 12);
    expect(ab.interval![1]).toBe(1);
    expect(ab.spansZero).toBe(false);
    // C: v1 + v2 = [9,8,7,6] (τ −1), 2·v1 (τ 1), 2·v2 (τ −1): the interval is [−1, 1] and spans 0.
    const ac = r.pairs[1];
    expect(ac.value).toBe(-1);
    expect(ac.p).toBe(2 / 24);
    expect(ac.interval).toEqual([-1, 1]);
    expect(ac.spansZero).toBe(true);
    expect(r.warning).toBe('only 4 heads per task: the smallest possible p is 0.083, so no correlation here can be told from chance');
    // 8 heads: 2/8! is small, but 28 head pairs make each value coarse.
    const eight = correlationUncertainty({ A: [row(1, 2, 3, 4, 5, 6, 7, 8)], B: [row(1, 2, 3, 4, 5, 6, 8, 7)] }, { normalize: identity });
    expect(eight.warning).toBe(
      'only 8 heads per task: each value rests on 28 head pairs, so one head moves it by up to 0.07; read the p and the interval, not the colour',
    );
  });

  it('a single unit per task gives no interval (nothing to resample), and bad input names the task', () => {
    const r = correlationUncertainty({ A: [row(1, 2, 3, 4)], B: [row(4, 3, 2, 1)] }, { normalize: identity });
    expect(r.pairs[0]).toMatchObject({ value: -1, interval: null, spansZero: true, p: 2 / 24 });
    expect(r.bootstrap).toBe(0);
    expect(() => correlationUncertainty({ A: [row(1, 2)] })).toThrow('correlationUncertainty: needs at least two tasks, got 1');
    expect(() => correlationUncertainty({ A: [row(1, 2)], B: [[[1], [2]]] })).toThrow('correlationUncertainty: B has a 2×1 matrix, A 1×2');
  });

  it('quantile is type 7 (linear between order statistics)', () => {
    expect(quantile([0, 10], 0.25)).toBe(2.5);
    expect(quantile([1, 2, 3, 4, 5], 0.5)).toBe(3);
    expect(quantile([1, 2, 3, 4, 5], 0.975)).toBeCloseTo(4.9, 12);
  });
});
