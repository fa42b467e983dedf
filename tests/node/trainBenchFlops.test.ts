import { describe, expect, it } from 'vitest';
import { forwardFlops, trainStepFlops } from '../../bench/trainFlops.ts';

describe('training benchmark FLOPs formula', () => {
  it('counts a toy shape by hand', () => {
    // B1 T2 H2 I4 L1 C2: projections 2·1·2·(4·4 + 2·2·4) = 128, attention 4·1·2²·2 = 32,
    // pooler 2·1·2² = 8, classifier 2·1·2·2 = 8 → 176 forward, 528 for a train step.
    const s = { layers: 1, hidden: 2, heads: 1, intermediate: 4, batch: 1, seq: 2, classes: 2 };
    expect(forwardFlops(s)).toBe(176);
    expect(trainStepFlops(s)).toBe(528);
  });

  it('gives 5.64 GFLOP for BERT-Tiny at batch 16 × seq 128', () => {
    // Per layer: 2·2048·(65,536 + 131,072) = 805,306,368 + attention 4·16·128²·128 = 134,217,728;
    // two layers 1,879,048,192; pooler 524,288; classifier 8,192 → forward 1,879,580,672.
    const s = { layers: 2, hidden: 128, heads: 2, intermediate: 512, batch: 16, seq: 128, classes: 2 };
    expect(forwardFlops(s)).toBe(1_879_580_672);
    expect(trainStepFlops(s)).toBe(5_638_742_016);
  });

  it('does not depend on the head count (heads split H, they do not add work)', () => {
    const base = { layers: 4, hidden: 128, heads: 4, intermediate: 512, batch: 32, seq: 64, classes: 2 };
    expect(forwardFlops({ ...base, heads: 1 })).toBe(forwardFlops(base));
    // 4 · (2·2048·196,608 + 4·32·64²·128) + 2·32·128² + 2·32·128·2 = 3,489,660,928 + 1,048,576 + 16,384.
    expect(forwardFlops(base)).toBe(3_490_725_888);
  });
});
