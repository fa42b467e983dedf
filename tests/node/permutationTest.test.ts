import { describe, expect, it } from 'vitest';
import { permutationPValue } from '../../src/engine/metrics/permutationTest.ts';

describe('permutationPValue (exact, two-sided)', () => {
  it('counts the splits at least as extreme as the observed one (hand-enumerated)', () => {
    // Pooled 1, 3, 2, 4 into pairs: |mean difference| 1, 2, 0, 0, 2, 1 for {1,3} {1,2} {1,4} {3,2} {3,4} {2,4};
    // observed |2 − 3| = 1, so 4 of the 6 splits count.
    expect(permutationPValue([1, 3], [2, 4])).toBeCloseTo(4 / 6, 12);
    // Complete separation of 3 against 3: only the observed split and its mirror, 2 of C(6,3) = 20.
    expect(permutationPValue([3, 4, 5], [0, 1, 2])).toBeCloseTo(0.1, 12);
    expect(permutationPValue([0, 1, 2], [3, 4, 5])).toBeCloseTo(0.1, 12);
    // 5 seeds against 5, every value above: the smallest p there is, 2/252.
    expect(permutationPValue([0.6, 0.61, 0.62, 0.63, 0.64], [0.5, 0.51, 0.52, 0.53, 0.59])).toBeCloseTo(2 / 252, 12);
  });

  it('gives 1 for equal samples and counts ties the floating-point sum order would break', () => {
    expect(permutationPValue([1, 1], [1, 1])).toBe(1);
    // 0.1 + 0.2 and 0.3 differ in the last bit; the split {0.3} vs {0.1, 0.2} ties the observed one.
    // Splits {0.1, 0.2} and {0.3, 0.3}: 2 of 6.
    expect(permutationPValue([0.1, 0.2], [0.3, 0.3])).toBeCloseTo(2 / 6, 12);
  });

  it('names a bad sample', () => {
    expect(() => permutationPValue([], [1])).toThrow('permutation test: the first sample is empty');
    expect(() => permutationPValue([1, 2], [3, NaN])).toThrow('permutation test: value 2 of the second sample is NaN');
    expect(() => permutationPValue([1, 2, 3], [4, 5, 6], 19)).toThrow('permutation test: C(6, 3) = 20 splits is more than 19');
  });
});
