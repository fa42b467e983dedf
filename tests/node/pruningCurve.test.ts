import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { useBackend } from '../helpers/nodeBackends.ts';
import { tinyExperiment, tinyModel, toySplits } from '../helpers/tinyTraining.ts';
import { maskedDevEvaluator } from '../../src/engine/analysis/maskedDevScore.ts';
import { headsToPrune, importanceOrder, maskFor, pruningCurves } from '../../src/engine/analysis/pruningCurve.ts';
import { evaluateTasks } from '../../src/engine/train/evaluate.ts';

beforeAll(async () => {
  await useBackend('cpu');
});

// A model whose dev score is the sum of its unmasked heads' contributions W (4 layers × 4 heads).
const W = [
  [0.9, 0.1, 0.5, 0.3],
  [0.05, 0.7, 0.2, 0.8],
  [0.6, 0.15, 0.95, 0.4],
  [0.25, 0.35, 0.45, 0.55],
];
const TOTAL = W.flat().reduce((a, b) => a + b, 0);
const additive = (mask: number[][]) => mask.reduce((s, row, l) => s + row.reduce((t, m, h) => t + m * W[l][h], 0), 0);

describe('pruning curves with a fake evaluator', () => {
  it('prunes round(f·16) heads, least important first: the score drops by the sum of the smallest contributions', async () => {
    const calls: number[][][] = [];
    const r = await pruningCurves({
      importance: W,
      evaluate: (m) => {
        calls.push(m);
        return additive(m);
      },
      randomOrders: 3,
      seed: 7,
    });
    expect(r.fractions).toEqual([0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]);
    expect(r.importance.points.map((p) => p.pruned)).toEqual([0, 2, 3, 5, 6, 8, 10, 11, 13, 14]);
    const ascending = W.flat().sort((a, b) => a - b);
    r.importance.points.forEach((p) => {
      const removed = ascending.slice(0, p.pruned).reduce((a, b) => a + b, 0);
      expect(p.score).toBeCloseTo(TOTAL - removed, 12);
    });
    expect(r.importance.heads.slice(0, 3)).toEqual([
      [1, 0],
      [0, 1],
      [2, 1],
    ]); // 0.05, 0.1, 0.15
    // No order removes less than the k smallest: every random curve lies on or under the importance curve.
    expect(r.random).toHaveLength(3);
    for (const c of r.random) c.points.forEach((p, i) => expect(p.score).toBeLessThanOrEqual(r.importance.points[i].score + 1e-12));
    expect(r.randomSummary[0]).toEqual({ fraction: 0, mean: TOTAL, std: 0 });
    expect(r.randomSummary[5].mean).toBeCloseTo(r.random.reduce((a, c) => a + c.points[5].score, 0) / 3, 12);
    // Equal masks are evaluated once (fraction 0 is shared by all four curves).
    expect(r.evaluations).toBe(calls.length);
    expect(calls.filter((m) => m.flat().every((x) => x === 1))).toHaveLength(1);
  });

  it('random orders are permutations of all heads, fixed by the seed', async () => {
    const run = (seed: number) => pruningCurves({ importance: W, evaluate: additive, randomOrders: 2, seed, fractions: [0, 0.5] });
    const a = await run(1);
    const b = await run(1);
    const c = await run(2);
    expect(a.random.map((x) => x.heads)).toEqual(b.random.map((x) => x.heads));
    expect(a.random[0].heads).not.toEqual(c.random[0].heads);
    expect(a.random[0].heads).not.toEqual(a.random[1].heads);
    expect([...a.random[0].heads].map(([l, h]) => l * 4 + h).sort((x, y) => x - y)).toEqual(Array.from({ length: 16 }, (_, i) => i));
  });

  it('builds masks and validates its inputs', () => {
    expect(
      maskFor(
        [
          [1, 0],
          [0, 1],
        ],
        1,
        2,
        2,
      ),
    ).toEqual([
      [1, 1],
      [0, 1],
    ]);
    expect(headsToPrune(0.9, 144)).toBe(130);
    expect(() => headsToPrune(1.2, 16)).toThrow('pruning fraction must be in [0, 1], got 1.2');
    expect(() => importanceOrder([[0.1, NaN]])).toThrow('pruning importance: head [0, 1] is NaN');
    expect(() => importanceOrder([[0.1, 0.2], [0.3]])).toThrow('pruning importance: layer 1 has 1 heads, layer 0 has 2');
  });
});

describe('pruning curves on a real tiny model', () => {
  it("the unmasked point equals the trainer's dev evaluation, and masking heads changes a regression score", async () => {
    const exp = tinyExperiment({ model: { kind: 'random', layers: 2, hidden: 16, heads: 2, intermediate: 32, vocab: 'synthetic' } });
    const model = tinyModel(exp);
    const data = toySplits(8, 24);
    const before = tf.memory().numTensors;
    for (const task of ['RTE', 'STS-B'] as const) {
      const spec = model.slot(task).spec;
      const ref = await evaluateTasks(model, [{ spec, dev: data[task].dev }], 16, { step: 0, epoch: 0 });
      const evalScore = maskedDevEvaluator(model, task, data[task].dev!, { batchSize: 5 });
      expect(
        await evalScore([
          [1, 1],
          [1, 1],
        ]),
      ).toBeCloseTo(ref.tasks[0].score, 6);
    }
    const pearson = maskedDevEvaluator(model, 'STS-B', data['STS-B'].dev!, { metric: 'pearson' });
    const r = await pruningCurves({
      importance: [
        [0.3, 0.9],
        [0.1, 0.5],
      ],
      evaluate: pearson,
      fractions: [0, 0.25, 0.5, 0.75],
      randomOrders: 1,
      seed: 3,
    });
    const scores = r.importance.points.map((p) => p.score);
    expect(new Set(scores).size).toBe(4);
    expect(r.importance.heads).toEqual([
      [1, 0],
      [0, 0],
      [1, 1],
      [0, 1],
    ]);
    expect(tf.memory().numTensors).toBe(before);
    expect(() => maskedDevEvaluator(model, 'RTE', data.RTE.dev!, { metric: 'pearson' })).toThrow('pruning: RTE has no metric pearson (it has acc)');
    model.dispose();
  });
});
