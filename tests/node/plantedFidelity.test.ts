import { describe, expect, it } from 'vitest';
import {
  choose,
  curveArea,
  poissonBinomialTail,
  randomHitProbability,
  rocAuc,
  signFlipPValue,
  skillConcordance,
} from '../../src/engine/analysis/plantedFidelity.ts';

describe('planted-relations fidelity statistics', () => {
  it('sign-flip p is exact: all positive over 5 seeds gives 1/32; a symmetric sample gives more than 1/2', () => {
    expect(signFlipPValue([0.1, 0.2, 0.3, 0.4, 0.5])).toBeCloseTo(1 / 32, 12);
    // Observed sum 0.1+0.2+0.3+0.4−0.5 = 0.5; sums ≥ 0.5 among the 32: {+all}=1.5, flip .1→1.3, .2→1.1, .3→0.9, .4→0.7, (.1,.2)→0.9, (.1,.3)→0.7,
    // (.1,.4)→0.5, (.2,.3)→0.5, .5 flipped→0.5: 10 of 32.
    expect(signFlipPValue([0.1, 0.2, 0.3, 0.4, -0.5])).toBeCloseTo(10 / 32, 12);
    expect(() => signFlipPValue([])).toThrow('sign-flip test: no values');
  });

  it('random hit probability and the Poisson-binomial tail match hand counts', () => {
    expect(randomHitProbability(5, 1, 1)).toBeCloseTo(0.2, 12);
    expect(randomHitProbability(5, 1, 2)).toBeCloseTo(1 - choose(4, 2) / choose(5, 2), 12); // 1 − 6/10
    expect(randomHitProbability(5, 2, 0)).toBe(0);
    // Binomial(10, 0.2): P(X ≥ 5) = 0.0327935...
    expect(poissonBinomialTail(Array(10).fill(0.2), 5)).toBeCloseTo(0.03279349, 7);
    expect(poissonBinomialTail([0.5, 0.5], 0)).toBe(1);
    expect(poissonBinomialTail([0.2, 0.4], 2)).toBeCloseTo(0.08, 12);
  });

  it('AUC: perfect, reversed, and ties counted one half', () => {
    expect(rocAuc([3, 4], [1, 2])).toBe(1);
    expect(rocAuc([1, 2], [3, 4])).toBe(0);
    expect(rocAuc([1, 3], [1, 2])).toBeCloseTo(0.625, 12); // pairs: (1,1) ½, (1,2) 0, (3,1) 1, (3,2) 1 → 2.5/4
    expect(() => rocAuc([], [1])).toThrow('AUC: 0 positive and 1 negative scores; need both');
    expect(curveArea([1, 0.5, 0])).toBeCloseTo(0.5, 12);
  });

  it('skill concordance: sharing pairs with identical maps rank first among all labellings', () => {
    // Four tasks, 1×4 maps; A and B identical (the one sharing pair), C and D unrelated orderings.
    const A = [[0.1, 0.2, 0.3, 0.4]];
    const C = [[0.4, 0.1, 0.3, 0.2]];
    const D = [[0.2, 0.4, 0.1, 0.3]];
    const maps = new Map([
      [1, { A, B: A, C, D }],
      [2, { A, B: A, C, D }],
    ]);
    const t = skillConcordance(maps, ['A', 'B', 'C', 'D'], (a, b) => [a, b].sort().join() === 'A,B');
    expect(t.pairs.map((p) => `${p.a}${p.b}`)).toEqual(['AB', 'AC', 'AD', 'BC', 'BD', 'CD']);
    expect(t.pairs[0].values).toEqual([1, 1]);
    // τ-b(A,C) = (concordant − discordant)/6: A order 1<2<3<4 vs C values .4,.1,.3,.2 → pairs: (1,2)− (1,3)− (1,4)− (2,3)+ (2,4)+ (3,4)− → −2/6.
    expect(t.pairs[1].values[0]).toBeCloseTo(-1 / 3, 12);
    expect(t.pairLabelP).toBeCloseTo(1 / 6, 12); // the top pair of six is the labelled one
    expect(t.seedSignFlipP).toBeCloseTo(1 / 4, 12); // two seeds, both positive
    expect(() => skillConcordance(maps, ['A', 'B'], () => true)).toThrow('skill concordance: 1 of 1 pairs share a skill; the test needs both kinds');
  });
});
