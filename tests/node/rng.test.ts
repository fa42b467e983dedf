import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/engine/runtime/rng.ts';

describe('Rng (sfc32)', () => {
  it('matches an independent Python transcription of splitmix32 seeding + sfc32 for seed 42', () => {
    // Derived with a separate Python implementation (same algorithm, 12 outputs discarded after seeding).
    const r = new Rng(42);
    expect(Array.from({ length: 6 }, () => r.nextUint32())).toEqual([1028872839, 2516511472, 400437680, 853279530, 1920286840, 3588795744]);
    expect(new Rng(42).uniform()).toBe(0.23955312807799112);
  });

  it('gives the same stream for the same seed and different streams for different seeds', () => {
    const a = new Rng(7);
    const b = new Rng(7);
    const c = new Rng(8);
    const sa = Array.from({ length: 50 }, () => a.uniform());
    expect(Array.from({ length: 50 }, () => b.uniform())).toEqual(sa);
    expect(Array.from({ length: 50 }, () => c.uniform())).not.toEqual(sa);
    expect(new Rng('task-shuffle').getState()).toEqual(new Rng('task-shuffle').getState());
    expect(new Rng('task-shuffle').getState()).not.toEqual(new Rng('task-shufflf').getState());
  });

  it('restores from getState exactly, also through JSON', () => {
    const r = new Rng(123);
    for (let i = 0; i < 17; i++) r.normal();
    const saved = JSON.parse(JSON.stringify(r.getState()));
    const expected = [r.uniform(), r.int(1000), r.normal(), r.shuffle([1, 2, 3, 4, 5, 6, 7, 8])];
    const restored = Rng.fromState(saved);
    expect([restored.uniform(), restored.int(1000), restored.normal(), restored.shuffle([1, 2, 3, 4, 5, 6, 7, 8])]).toEqual(expected);
    const other = new Rng(0);
    other.setState(saved);
    expect(other.uniform()).toBe(expected[0]);
  });

  it('rejects malformed state and seeds with clear errors', () => {
    expect(() => Rng.fromState([1, 2, 3] as unknown as [number, number, number, number])).toThrow('rng state must be an array of 4 uint32 words, got [1,2,3]');
    expect(() => Rng.fromState([1, 2, 3, 2 ** 32])).toThrow('rng state word 3 must be a uint32, got 4294967296');
    expect(() => new Rng(1.5)).toThrow('rng seed must be an integer or a string, got 1.5');
  });

  it('fork(label) depends on the label and the parent state, and does not advance the parent', () => {
    const r = new Rng(5);
    const before = r.getState();
    const f1 = r.fork('dropout');
    const f2 = r.fork('dropout');
    const g = r.fork('data');
    expect(r.getState()).toEqual(before);
    const s1 = Array.from({ length: 20 }, () => f1.nextUint32());
    expect(Array.from({ length: 20 }, () => f2.nextUint32())).toEqual(s1);
    expect(Array.from({ length: 20 }, () => g.nextUint32())).not.toEqual(s1);
    r.uniform();
    expect(Array.from({ length: 20 }, () => r.fork('dropout').nextUint32())).not.toEqual(s1);
    // The fork is not the parent's own continuation.
    expect(Array.from({ length: 20 }, () => new Rng(5).nextUint32())).not.toEqual(s1);
  });

  it('uniform is in [0, 1) with mean 1/2 and variance 1/12', () => {
    const r = new Rng(1);
    const n = 100_000;
    let s = 0;
    let s2 = 0;
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = 0; i < n; i++) {
      const u = r.uniform();
      lo = Math.min(lo, u);
      hi = Math.max(hi, u);
      s += u;
      s2 += u * u;
    }
    expect(lo).toBeGreaterThanOrEqual(0);
    expect(lo).toBeLessThan(1e-3);
    expect(hi).toBeLessThan(1);
    expect(hi).toBeGreaterThan(1 - 1e-3);
    const mean = s / n;
    // Standard error of the mean is sqrt(1/12/n) ≈ 0.0009; 5 SE.
    expect(Math.abs(mean - 0.5)).toBeLessThan(0.0046);
    expect(Math.abs(s2 / n - mean * mean - 1 / 12)).toBeLessThan(0.002);
  });

  it('int(n) covers 0..n-1 evenly and rejects bad n', () => {
    const r = new Rng(2);
    const counts = new Array(7).fill(0);
    const n = 70_000;
    for (let i = 0; i < n; i++) counts[r.int(7)]++;
    // Chi-square with 6 degrees of freedom; 22.46 is the 0.999 quantile.
    const chi2 = counts.reduce((a, c) => a + (c - n / 7) ** 2 / (n / 7), 0);
    expect(chi2).toBeLessThan(22.46);
    expect(r.int(1)).toBe(0);
    expect(() => r.int(0)).toThrow('rng.int(n) needs an integer 1 <= n <= 2^32, got 0');
    expect(() => r.int(2.5)).toThrow('rng.int(n) needs an integer 1 <= n <= 2^32, got 2.5');
  });

  it('normal has mean 0 and standard deviation 1', () => {
    const r = new Rng(3);
    const n = 100_000;
    let s = 0;
    let s2 = 0;
    for (let i = 0; i < n; i++) {
      const z = r.normal();
      s += z;
      s2 += z * z;
    }
    expect(Math.abs(s / n)).toBeLessThan(0.016); // 5 SE
    expect(Math.abs(Math.sqrt(s2 / n) - 1)).toBeLessThan(0.012);
    const scaled = new Rng(3).normal(10, 2);
    expect(scaled).toBe(10 + 2 * new Rng(3).normal());
  });

  it('shuffle is an in-place permutation with all orders equally likely', () => {
    const r = new Rng(4);
    const arr = [0, 1, 2];
    expect(r.shuffle(arr)).toBe(arr);
    const counts = new Map<string, number>();
    const n = 60_000;
    for (let i = 0; i < n; i++) {
      const key = r.shuffle([0, 1, 2]).join('');
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    expect([...counts.keys()].sort()).toEqual(['012', '021', '102', '120', '201', '210']);
    // Chi-square, 5 degrees of freedom; 20.52 is the 0.999 quantile.
    const chi2 = [...counts.values()].reduce((a, c) => a + (c - n / 6) ** 2 / (n / 6), 0);
    expect(chi2).toBeLessThan(20.52);
    const big = r.shuffle(Array.from({ length: 1000 }, (_, i) => i));
    expect([...big].sort((a, b) => a - b)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
  });

  it('sample draws k distinct elements without touching the input', () => {
    const r = new Rng(6);
    const pool = [10, 11, 12, 13, 14, 15, 16, 17];
    const s = r.sample(pool, 5);
    expect(s).toHaveLength(5);
    expect(new Set(s).size).toBe(5);
    s.forEach((v) => expect(pool).toContain(v));
    expect(pool).toEqual([10, 11, 12, 13, 14, 15, 16, 17]);
    expect(r.sample(pool, 0)).toEqual([]);
    expect([...r.sample(pool, 8)].sort((a, b) => a - b)).toEqual(pool);
    expect(() => r.sample(pool, 9)).toThrow('rng.sample needs an integer 0 <= k <= 8, got 9');
  });

  it('choiceWeighted follows the weights and never picks a zero weight', () => {
    const r = new Rng(9);
    const w = [0.2, 0, 0.5, 0.3];
    const counts = [0, 0, 0, 0];
    const n = 50_000;
    for (let i = 0; i < n; i++) counts[r.choiceWeighted(w)]++;
    expect(counts[1]).toBe(0);
    // 5 SE of a binomial proportion with n = 50000 is at most 0.0112.
    expect(Math.abs(counts[0] / n - 0.2)).toBeLessThan(0.0112);
    expect(Math.abs(counts[2] / n - 0.5)).toBeLessThan(0.0112);
    expect(Math.abs(counts[3] / n - 0.3)).toBeLessThan(0.0112);
    // Unnormalised weights give the same draws as normalised ones (same uniform, scaled target).
    expect(new Rng(10).choiceWeighted([2, 0, 5, 3])).toBe(new Rng(10).choiceWeighted([0.2, 0, 0.5, 0.3]));
    expect(() => r.choiceWeighted([0, 0])).toThrow('rng.choiceWeighted: the weights sum to 0; at least one must be > 0');
    expect(() => r.choiceWeighted([0.5, -0.1])).toThrow('rng.choiceWeighted: weight 1 must be a finite number >= 0, got -0.1');
  });

  it('bernoulli(p) fires with frequency p', () => {
    const r = new Rng(11);
    let hits = 0;
    for (let i = 0; i < 40_000; i++) if (r.bernoulli(0.1)) hits++;
    expect(Math.abs(hits / 40_000 - 0.1)).toBeLessThan(0.0075); // 5 SE
    expect(new Rng(1).bernoulli(0)).toBe(false);
    expect(new Rng(1).bernoulli(1)).toBe(true);
    expect(() => r.bernoulli(1.5)).toThrow('rng.bernoulli(p) needs 0 <= p <= 1, got 1.5');
  });
});
