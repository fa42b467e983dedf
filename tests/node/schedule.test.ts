import { describe, expect, it } from 'vitest';
import { lrAt, warmupConstant, warmupCosine, warmupLinear, warmupLinearOld } from '../../src/engine/train/schedule.ts';

describe('learning-rate schedules', () => {
  it('warmup_linear (pytorch-pretrained-bert 0.6) hits the docs/methods.md §8 check values for w = 0.1', () => {
    const xs = [0, 0.05, 0.1, 0.55, 1.0];
    const want = [0, 0.5, 1, 0.5, 0];
    xs.forEach((x, i) => expect(warmupLinear(x, 0.1)).toBeCloseTo(want[i], 14));
    // Past the end it stays at 0 (the max(…, 0)).
    expect(warmupLinear(1.2, 0.1)).toBe(0);
  });

  it('the old warmup_linear (Bert-n-Pals/EmBERT) is 1 − x after warmup: 0.45 at x = 0.55, a jump to 0.9 at x = w', () => {
    expect(warmupLinearOld(0.55, 0.1)).toBeCloseTo(0.45, 14);
    expect(warmupLinearOld(0.05, 0.1)).toBeCloseTo(0.5, 14);
    expect(warmupLinearOld(0.0999999, 0.1)).toBeCloseTo(0.999999, 12);
    expect(warmupLinearOld(0.1, 0.1)).toBeCloseTo(0.9, 14);
    // It goes negative past x = 1, as in the original.
    expect(warmupLinearOld(1.1, 0.1)).toBeCloseTo(-0.1, 14);
  });

  it('warmup_constant and warmup_cosine', () => {
    expect(warmupConstant(0.05, 0.1)).toBeCloseTo(0.5, 14);
    expect(warmupConstant(0.7, 0.1)).toBe(1);
    expect(warmupCosine(0.5, 0.1)).toBeCloseTo(0.5, 14);
    expect(warmupCosine(1, 0.1)).toBeCloseTo(0, 14);
  });

  it('lrAt scales the base rate by the schedule at step / totalSteps', () => {
    const o = { base: 5e-5, warmup: 0.1, kind: 'warmup_linear' as const };
    expect(lrAt(0, 1000, o)).toBe(0);
    expect(lrAt(50, 1000, o)).toBeCloseTo(2.5e-5, 18);
    expect(lrAt(100, 1000, o)).toBeCloseTo(5e-5, 18);
    expect(lrAt(550, 1000, o)).toBeCloseTo(2.5e-5, 18);
    expect(lrAt(1000, 1000, o)).toBe(0);
    expect(lrAt(550, 1000, { ...o, kind: 'warmup_linear_old' })).toBeCloseTo(2.25e-5, 18);
    expect(lrAt(550, 1000, { ...o, kind: 'constant' })).toBe(5e-5);
    // t_total = −1 in the originals: no schedule.
    expect(lrAt(550, -1, o)).toBe(5e-5);
  });

  it("'linear_hf' is transformers' linear schedule in whole steps (warmup steps = ceil(ratio · total))", () => {
    const o = { base: 2e-5, warmup: 0, kind: 'linear_hf' as const };
    expect(lrAt(0, 100, o)).toBe(2e-5);
    expect(lrAt(25, 100, o)).toBeCloseTo(1.5e-5, 18);
    expect(lrAt(100, 100, o)).toBe(0);
    // 10 % of 95 steps = 9.5 → 10 warmup steps.
    const w = { ...o, warmup: 0.1 };
    expect(lrAt(5, 95, w)).toBeCloseTo(1e-5, 18);
    expect(lrAt(10, 95, w)).toBeCloseTo(2e-5, 18);
    expect(lrAt(52.5, 95, w)).toBeCloseTo(1e-5, 18);
  });

  it('rejects bad arguments with clear errors', () => {
    const o = { base: 1e-3, warmup: 0.1, kind: 'warmup_linear' as const };
    expect(() => lrAt(0, 10, { ...o, warmup: 1 })).toThrow('lrAt: warmup must be a fraction in [0, 1), got 1');
    expect(() => lrAt(0, 10, { ...o, base: -1 })).toThrow('lrAt: base learning rate must be finite and >= 0, got -1');
    expect(() => lrAt(-1, 10, o)).toThrow('lrAt: step must be >= 0, got -1');
    expect(() => lrAt(0, 10, { ...o, kind: 'cosine' as never })).toThrow("lrAt: unknown schedule kind 'cosine'");
  });
});
