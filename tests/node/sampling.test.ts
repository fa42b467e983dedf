import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/engine/runtime/rng.ts';
import {
  EMBERT_TASK_ORDER,
  EMBERT_TASK_SIZES,
  SiwlmAlphaCounter,
  annealAlpha,
  annealProbs,
  attachBatches,
  fixedBatchOrder,
  lossWeightsFromBatchCounts,
  mtdnnEpochSchedule,
  posWeightFromBatchCounts,
  powerProbs,
  siwlmAlpha,
  siwlmFocusTask,
  siwlmWeight,
  taskProbs,
  temperatureProbs,
} from '../../src/engine/train/sampling/index.ts';

const countsOf = (order: number[], numTasks: number) => {
  const c = new Array(numTasks).fill(0);
  order.forEach((t) => c[t]++);
  return c;
};

describe('MT-DNN epoch schedule (docs/methods.md §1.6)', () => {
  const counts = [5, 12, 3, 7];

  it('ratio 0, mix_opt 0: every batch of every task exactly once, shuffled', () => {
    const rng = new Rng(1);
    const order = mtdnnEpochSchedule(counts, { mixOpt: 0, ratio: 0 }, rng);
    expect(order).toHaveLength(27);
    expect(countsOf(order, 4)).toEqual(counts);
    // Shuffled: not the grouped construction order, and another epoch differs.
    const grouped = [...Array(12).fill(1), ...Array(3).fill(2), ...Array(7).fill(3), ...Array(5).fill(0)];
    expect(order).not.toEqual(grouped);
    expect(mtdnnEpochSchedule(counts, { mixOpt: 0, ratio: 0 }, rng)).not.toEqual(order);
    // Deterministic for a seed.
    expect(mtdnnEpochSchedule(counts, { mixOpt: 0, ratio: 0 }, new Rng(1))).toEqual(order);
  });

  it('ratio 0, mix_opt 1: auxiliary batches shuffled first, then all task-0 batches', () => {
    const order = mtdnnEpochSchedule(counts, { mixOpt: 1, ratio: 0 }, new Rng(2));
    expect(countsOf(order, 4)).toEqual(counts);
    expect(order.slice(22)).toEqual([0, 0, 0, 0, 0]);
    expect(order.slice(0, 22)).not.toContain(0);
  });

  it('ratio 0.5, mix_opt 1: the first min(0.5·n₀, Σ aux) entries are auxiliary, then n₀ zeros', () => {
    const c = [10, 4, 6];
    for (let seed = 0; seed < 20; seed++) {
      const order = mtdnnEpochSchedule(c, { mixOpt: 1, ratio: 0.5 }, new Rng(seed));
      expect(order).toHaveLength(15);
      expect(order.slice(0, 5).every((t) => t === 1 || t === 2)).toBe(true);
      expect(order.slice(5)).toEqual(new Array(10).fill(0));
      const aux = countsOf(order, 3);
      expect(aux[1]).toBeLessThanOrEqual(4);
      expect(aux[2]).toBeLessThanOrEqual(6);
    }
    // The auxiliary draw is capped by the pool: 3·10 > 10 auxiliary batches.
    const capped = mtdnnEpochSchedule(c, { mixOpt: 1, ratio: 3 }, new Rng(3));
    expect(countsOf(capped, 3)).toEqual([10, 4, 6]);
    // floor(n₀·ratio): 10·0.25 = 2.5 → 2.
    expect(mtdnnEpochSchedule(c, { mixOpt: 1, ratio: 0.25 }, new Rng(3))).toHaveLength(12);
  });

  it('ratio > 0, mix_opt 0: the same counts, shuffled together', () => {
    const c = [10, 4, 6];
    const order = mtdnnEpochSchedule(c, { mixOpt: 0, ratio: 0.5 }, new Rng(4));
    expect(order).toHaveLength(15);
    expect(countsOf(order, 3)[0]).toBe(10);
    expect(order.slice(5)).not.toEqual(new Array(10).fill(0));
  });

  it('the auxiliary draw is without replacement and spreads over the pool', () => {
    // Pool of 4 + 6 aux batches, 5 drawn: task 1 should get 5·4/10 = 2 on average (hypergeometric).
    let total1 = 0;
    for (let seed = 0; seed < 2000; seed++) {
      total1 += countsOf(mtdnnEpochSchedule([10, 4, 6], { mixOpt: 1, ratio: 0.5 }, new Rng(seed)), 3)[1];
    }
    // Hypergeometric sd = sqrt(5·0.4·0.6·5/9) ≈ 0.816; 5 SE over 2000 draws ≈ 0.091.
    expect(Math.abs(total1 / 2000 - 2)).toBeLessThan(0.091);
  });

  it('a single task ignores ratio; bad counts are rejected', () => {
    expect(mtdnnEpochSchedule([4], { mixOpt: 0, ratio: 0.5 }, new Rng(0))).toEqual([0, 0, 0, 0]);
    expect(() => mtdnnEpochSchedule([], { mixOpt: 0, ratio: 0 }, new Rng(0))).toThrow('mtdnnEpochSchedule: batchCounts is empty (no training task)');
    expect(() => mtdnnEpochSchedule([3, 1.5], { mixOpt: 0, ratio: 0 }, new Rng(0))).toThrow(
      'mtdnnEpochSchedule: batchCounts[1] must be an integer >= 0, got 1.5',
    );
  });

  it('fixedBatchOrder is a permutation, and attachBatches walks it from the start each epoch', () => {
    const rng = new Rng(5);
    const orders = [fixedBatchOrder(5, rng), fixedBatchOrder(12, rng), fixedBatchOrder(3, rng), fixedBatchOrder(7, rng)];
    orders.forEach((o, t) => expect([...o].sort((a, b) => a - b)).toEqual(Array.from({ length: counts[t] }, (_, i) => i)));
    for (let epoch = 0; epoch < 2; epoch++) {
      const taskOrder = mtdnnEpochSchedule(counts, { mixOpt: 0, ratio: 0 }, rng);
      const batches = attachBatches(taskOrder, orders);
      // Each task's batches come in its fixed order, every epoch.
      for (let t = 0; t < 4; t++) expect(batches.filter((b) => b.task === t).map((b) => b.batch)).toEqual(orders[t]);
      expect(batches.map((b) => b.task)).toEqual(taskOrder);
    }
    expect(() => attachBatches([0, 0], [[0]])).toThrow('attachBatches: task 0 is scheduled more than its 1 batches');
    expect(() => attachBatches([2], [[0]])).toThrow('attachBatches: entry 0 names task 2, but only 1 batch orders were given');
  });
});

describe('SIWLM α (docs/methods.md §2.2, §8)', () => {
  it('even epochs: focus = floor((b mod 20T) / 20) for T = 8', () => {
    const T = 8;
    const focusAt = [0, 19, 20, 39, 40, 159, 160, 179, 180, 333].map((b) => siwlmFocusTask(b, T));
    expect(focusAt).toEqual([0, 0, 1, 1, 2, 7, 0, 0, 1, 0]);
    for (let b = 0; b < 400; b++) {
      const focus = Math.floor((b % 160) / 20);
      for (let task = 0; task < T; task++) expect(siwlmAlpha(0, b, task, T)).toBe(task === focus ? 1 : 0.1);
    }
  });

  it('odd epochs: α = 1 for the central task 0, 0.1 otherwise, at every batch', () => {
    for (const b of [0, 7, 20, 159, 1000]) {
      expect(siwlmAlpha(1, b, 0, 8)).toBe(1);
      for (let task = 1; task < 8; task++) expect(siwlmAlpha(3, b, task, 8)).toBe(0.1);
    }
  });

  it('the stateful counter reproduces the train.py loop, including the per-epoch reset and resume', () => {
    const T = 3;
    const counter = new SiwlmAlphaCounter(T);
    const rng = new Rng(8);
    for (let epoch = 0; epoch < 4; epoch++) {
      counter.startEpoch(epoch);
      for (let b = 0; b < 130; b++) {
        const task = rng.int(T);
        expect(counter.next(task)).toBe(siwlmAlpha(epoch, b, task, T));
      }
    }
    counter.startEpoch(2);
    for (let b = 0; b < 45; b++) counter.next(0);
    const saved = counter.getState();
    expect(saved).toEqual({ epoch: 2, iteration: 45 });
    const resumed = new SiwlmAlphaCounter(T);
    resumed.setState(saved);
    // Batch 45 of an even epoch: focus = floor(45/20) = 2.
    expect(resumed.next(2)).toBe(1);
    expect(resumed.next(1)).toBe(0.1);
    expect(() => resumed.next(3)).toThrow('siwlm: taskId must be an integer in [0, 3), got 3');
  });

  it('weight = task_weight · α, unnormalised (RTE with w_c = 15 in an odd epoch: 15; others 0.1)', () => {
    expect(siwlmWeight(15, siwlmAlpha(1, 0, 0, 8))).toBe(15);
    expect(siwlmWeight(1, siwlmAlpha(1, 0, 4, 8))).toBe(0.1);
    expect(siwlmWeight(3, 0.1)).toBeCloseTo(0.3, 15);
  });
});

describe('task sampling probabilities (docs/methods.md §5.2)', () => {
  it('anneal with the EmBERT sizes at e = 0, 12, 24 of E = 25 matches the check values of docs/methods.md §8 within 5e-5', () => {
    expect(EMBERT_TASK_ORDER).toEqual(['CoLA', 'MRPC', 'MNLI', 'RTE', 'STS-B', 'SST-2', 'QQP', 'QNLI']);
    const check: Record<number, number[]> = {
      0: [0.009, 0.0038, 0.4122, 0.0026, 0.006, 0.0707, 0.3819, 0.1138],
      12: [0.033, 0.0198, 0.3276, 0.0157, 0.026, 0.1137, 0.3129, 0.1513],
      24: [0.091, 0.0768, 0.1956, 0.0711, 0.084, 0.1375, 0.1927, 0.1512],
    };
    for (const [e, want] of Object.entries(check)) {
      const p = annealProbs(EMBERT_TASK_SIZES, Number(e), 25);
      expect(p).toHaveLength(8);
      p.forEach((v, i) => expect(Math.abs(v - want[i])).toBeLessThan(5e-5));
      expect(p.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 14);
    }
    expect(annealAlpha(0, 25)).toBe(1);
    expect(annealAlpha(24, 25)).toBeCloseTo(0.2, 15);
    expect(annealAlpha(0, 1)).toBe(1);
    expect(() => annealAlpha(25, 25)).toThrow('annealAlpha: epoch must be an integer in [0, 25), got 25');
  });

  it('prop, sqrt, uniform and temperature', () => {
    const sizes = [100, 400, 500];
    expect(taskProbs('prop', sizes, 3, 10)).toEqual([0.1, 0.4, 0.5]);
    const sq = taskProbs('sqrt', sizes, 0, 10);
    const norm = 10 + 20 + Math.sqrt(500);
    [10 / norm, 20 / norm, Math.sqrt(500) / norm].forEach((v, i) => expect(sq[i]).toBeCloseTo(v, 15));
    taskProbs('uniform', sizes, 0, 10).forEach((v) => expect(v).toBeCloseTo(1 / 3, 15));
    temperatureProbs(sizes, 2).forEach((v, i) => expect(v).toBeCloseTo(sq[i], 15));
    expect(temperatureProbs(sizes, 1)).toEqual(powerProbs(sizes, 1));
    expect(() => powerProbs([10, 0], 1)).toThrow('powerProbs: sizes[1] must be a finite number > 0, got 0');
    expect(() => temperatureProbs(sizes, 0)).toThrow('temperatureProbs: temperature must be finite and > 0, got 0');
  });

  it('drawing tasks with rng.choiceWeighted follows the annealed probabilities', () => {
    const p = annealProbs(EMBERT_TASK_SIZES, 24, 25);
    const rng = new Rng(12);
    const counts = new Array(8).fill(0);
    const n = 40_000;
    for (let i = 0; i < n; i++) counts[rng.choiceWeighted(p)]++;
    // 5 SE of a proportion ≤ 0.5 with n = 40000 is 0.0125.
    counts.forEach((c, i) => expect(Math.abs(c / n - p[i])).toBeLessThan(0.0125));
  });
});

describe('FastMTL weights from batch counts (docs/methods.md §4.1, §8)', () => {
  it('pos_weight = (N_all − N_j) / N_j: [16, 16, 4] → [1.25, 1.25, 8]; 8 tasks × 16 batches → 7', () => {
    expect(posWeightFromBatchCounts([16, 16, 4])).toEqual([1.25, 1.25, 8]);
    expect(posWeightFromBatchCounts(new Array(8).fill(16))).toEqual(new Array(8).fill(7));
    expect(() => posWeightFromBatchCounts([16, 0])).toThrow('posWeightFromBatchCounts: batchCounts[1] must be an integer > 0, got 0');
  });

  it('--weight_loss = 1 + ln(n_max / n_t)', () => {
    const w = lossWeightsFromBatchCounts([16, 16, 4]);
    expect(w[0]).toBe(1);
    expect(w[2]).toBeCloseTo(1 + Math.log(4), 15);
  });
});
