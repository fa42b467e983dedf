import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { useBackend } from '../helpers/nodeBackends.ts';
import { TINY_VOCAB, tinyExperiment, tinyModel, toySplits } from '../helpers/tinyTraining.ts';
import { BatchReader } from '../../src/engine/data/batchReader.ts';
import type { ExperimentInput } from '../../src/engine/experiment/experimentSchema.ts';
import { dropout } from '../../src/engine/model/ops.ts';
import { Rng } from '../../src/engine/runtime/rng.ts';
import { batchToTensors, disposeBatch } from '../../src/engine/train/batchTensors.ts';
import { memorySplit, type TokenizedRow } from '../../src/engine/train/memorySplit.ts';
import { buildEncoder } from '../../src/engine/model/modelFactory.ts';
import type { TaskSplits } from '../../src/engine/train/trainer.ts';
import { groupByTask, rankPooled, selectTopRanked } from '../../src/engine/selection/fastmtl/discriminatorRanking.ts';
import { bceWithLogits, discriminatorLoss, discriminatorProbs, headDropoutSeed } from '../../src/engine/selection/fastmtl/taskDiscriminator.ts';
import { sampleTdRows } from '../../src/engine/selection/fastmtl/tdRows.ts';
import { randomSelect } from '../../src/engine/selection/randomSelect.ts';
import { parseSelectionConfig } from '../../src/engine/selection/selectionConfig.ts';
import { runSelection } from '../../src/engine/selection/runSelection.ts';
import type { SelectionEnv } from '../../src/engine/selection/trainRunner.ts';
import type { FastmtlReasons } from '../../src/engine/selection/fastmtl/fastmtlSelect.ts';
import type { RandomReasons } from '../../src/engine/selection/randomSelect.ts';

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

beforeAll(async () => {
  await useBackend('cpu');
});

describe('task discriminator losses (docs/methods.md §4.1)', () => {
  const Z = [
    [0.5, -1.0, 2.0],
    [-0.3, 0.0, 1.2],
  ];

  it('BCE with pos_weight from batch counts [16, 16, 4] = [1.25, 1.25, 8] equals the textbook formula, averaged over B·T', async () => {
    const pw = [1.25, 1.25, 8];
    let expected = 0;
    for (const row of Z)
      row.forEach((z, j) => {
        const y = j === 1 ? 1 : 0;
        expected += -(pw[j] * y * Math.log(sigmoid(z)) + (1 - y) * Math.log(1 - sigmoid(z)));
      });
    expected /= 6;
    const l = discriminatorLoss(tf.tensor2d(Z), 1, 'bce', pw);
    expect((await l.data())[0]).toBeCloseTo(expected, 5);
    const plain = discriminatorLoss(tf.tensor2d(Z), 1, 'bce');
    let unweighted = 0;
    for (const row of Z)
      row.forEach((z, j) => {
        unweighted += j === 1 ? -Math.log(sigmoid(z)) : -Math.log(1 - sigmoid(z));
      });
    expect((await plain.data())[0]).toBeCloseTo(unweighted / 6, 5);
  });

  it('CE is −log softmax(z)[t], averaged over rows', async () => {
    const expected = Z.reduce((a, row) => a - Math.log(Math.exp(row[2]) / row.reduce((s, z) => s + Math.exp(z), 0)), 0) / 2;
    expect((await discriminatorLoss(tf.tensor2d(Z), 2, 'ce').data())[0]).toBeCloseTo(expected, 5);
  });

  it('the BCE gradient matches central differences (the loss is differentiable through its tidy)', async () => {
    const pw = tf.tensor1d([1.25, 1.25, 8]);
    const y = tf.tensor2d([
      [0, 1, 0],
      [0, 1, 0],
    ]);
    const g = (await tf
      .grad((z: tf.Tensor) => bceWithLogits(z as tf.Tensor2D, y, pw))(tf.tensor2d(Z))
      .array()) as number[][];
    const f = (zz: number[][]) => bceWithLogits(tf.tensor2d(zz), y, pw).dataSync()[0];
    const h = 1e-2;
    for (let i = 0; i < 2; i++)
      for (let j = 0; j < 3; j++) {
        const up = Z.map((r) => r.slice());
        up[i][j] += h;
        const dn = Z.map((r) => r.slice());
        dn[i][j] -= h;
        expect(g[i][j]).toBeCloseTo((f(up) - f(dn)) / (2 * h), 3);
      }
  });

  it('scores with sigmoid (both variants, as FastMTL) or softmax (clean CE)', async () => {
    const s = (await discriminatorProbs(tf.tensor2d(Z), 'sigmoid').array()) as number[][];
    expect(s[0][2]).toBeCloseTo(sigmoid(2.0), 6);
    const p = (await discriminatorProbs(tf.tensor2d(Z), 'softmax').array()) as number[][];
    expect(p[1].reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
    expect(p[1][1]).toBeCloseTo(1 / (Math.exp(-0.3) + 1 + Math.exp(1.2)), 6);
    expect(() => discriminatorLoss(tf.tensor2d(Z), 3, 'bce')).toThrow('task discriminator: task id 3 is outside 0..2');
  });

  it('sees the same dropout mask as the task head (seed offset agrees with MultiTaskModel)', async () => {
    const exp = tinyExperiment({ tasks: [{ name: 'RTE' }] });
    const model = tinyModel(exp);
    const data = toySplits(8);
    const b = new BatchReader([data.RTE.train], { batchSize: 8, seed: 0, shuffle: false, bucketBatches: 1 }).next();
    const t = batchToTensors(b, 'classification', 2);
    const stepSeed = 4242;
    const diff = (seed: number) =>
      tf.tidy(() => {
        const fwd = model.forwardTask('RTE', t, { training: true, seed: stepSeed });
        const vars = model.head('RTE').namedVariables();
        const x = dropout(fwd.features.pooled, model.slot('RTE').spec.dropout, true, seed);
        const ours = tf.add(tf.matMul(x, vars.get('heads.RTE.classifier.weight')!), vars.get('heads.RTE.classifier.bias')!);
        return tf.max(tf.abs(tf.sub(ours, fwd.output))).dataSync()[0];
      });
    expect(diff(headDropoutSeed(stepSeed))).toBeLessThan(1e-6);
    expect(diff(headDropoutSeed(stepSeed + 1))).toBeGreaterThan(1e-4); // a different mask shows up: the check can fail
    disposeBatch(t);
    model.dispose();
  });
});

describe('FastMTL ranking and the random baseline (pure)', () => {
  it('ranks the pooled auxiliary scores globally with rankdata(−s): [0.9, 0.1, 0.5] → [1, 3, 2]', () => {
    const ranked = rankPooled([
      { task: 'MRPC', rows: [4, 9], uids: ['m4', 'm9'], scores: [0.9, 0.1] },
      { task: 'SST-2', rows: [2], uids: ['s2'], scores: [0.5] },
    ]);
    expect(ranked.map((e) => e.rank)).toEqual([1, 3, 2]);
    const top = selectTopRanked(ranked, 2);
    expect(top.map((e) => e.uid)).toEqual(['m4', 's2']);
    expect(groupByTask(top)).toEqual({ MRPC: { rows: [4], uids: ['m4'] }, 'SST-2': { rows: [2], uids: ['s2'] } });
  });

  it('keeps 0 < rank ≤ NUM literally: two tied best examples share rank 1.5 and NUM = 1 selects none', () => {
    const ranked = rankPooled([{ task: 'QQP', rows: [0, 1, 2], uids: ['a', 'b', 'c'], scores: [0.5, 0.5, 0.2] }]);
    expect(ranked.map((e) => e.rank)).toEqual([1.5, 1.5, 3]);
    expect(selectTopRanked(ranked, 1)).toEqual([]);
    expect(selectTopRanked(ranked, 2).map((e) => e.uid)).toEqual(['a', 'b']);
    expect(() => rankPooled([{ task: 'QQP', rows: [0], uids: ['a'], scores: [NaN] }])).toThrow('fastmtl ranking: QQP row 0 (uid a) has score NaN');
  });

  it('draws NUM uniformly from the pooled rows, reproducibly per seed', () => {
    const pools = [
      { task: 'MRPC', rows: Array.from({ length: 30 }, (_, i) => i), uids: Array.from({ length: 30 }, (_, i) => `m${i}`) },
      { task: 'SST-2', rows: Array.from({ length: 10 }, (_, i) => i), uids: Array.from({ length: 10 }, (_, i) => `s${i}`) },
    ];
    const a = randomSelect(pools, 12, 0);
    expect(a.chosen).toHaveLength(12);
    expect(new Set(a.chosen.map((c) => c.uid)).size).toBe(12);
    expect(randomSelect(pools, 12, 0).chosen).toEqual(a.chosen);
    expect(randomSelect(pools, 12, 1).chosen).not.toEqual(a.chosen);
    expect(randomSelect(pools, 100, 0).chosen).toHaveLength(40);
    // Uniform over the pool: over many seeds MRPC gets 30/40 of the draws.
    let mrpc = 0;
    for (let s = 0; s < 200; s++) mrpc += randomSelect(pools, 12, s).chosen.filter((c) => c.task === 'MRPC').length;
    expect(mrpc / (200 * 12)).toBeCloseTo(0.75, 1);
  });

  it('samples the TD rows per task reproducibly and leaves the rest, in file order, as candidates', () => {
    const r = sampleTdRows(10, 4, 205, 'MRPC');
    expect(r.used).toHaveLength(4);
    expect([...r.used, ...r.unused].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(r.unused).toEqual([...r.unused].sort((a, b) => a - b));
    expect(sampleTdRows(10, 4, 205, 'MRPC')).toEqual(r);
    expect(sampleTdRows(3, 500, 205, 'WNLI')).toMatchObject({ unused: [] });
  });
});

/*
 * End to end through the real trainer: three tasks whose words come from different ranges, except that half of
 * MRPC's rows use RTE's words. A discriminator trained on the sampled rows must rank those RTE-like MRPC rows
 * highest for target RTE, so the top NUM are mostly them, where the random baseline takes ~NUM·(share) of them.
 */
function taskRows(prefix: string, n: number, lo: number, seed: number, rteLike = (_i: number) => false): TokenizedRow[] {
  const rng = new Rng(`fastmtl-test/${prefix}/${seed}`);
  return Array.from({ length: n }, (_, i) => {
    const base = rteLike(i) ? 5 : lo;
    const word = () => base + rng.int(10);
    const a = Array.from({ length: 3 + rng.int(3) }, word);
    const b = Array.from({ length: 3 + rng.int(3) }, word);
    return { ids: [2, ...a, 3, ...b, 3], segmentA: a.length + 2, label: i % 2, uid: `${prefix}${rteLike(i) ? '-rtelike' : ''}-${i}` };
  });
}

function fastmtlData(): Record<string, TaskSplits> {
  const split = (task: string, s: 'train' | 'dev', rows: TokenizedRow[]) => memorySplit(task, s, rows);
  return {
    RTE: { train: split('RTE', 'train', taskRows('rte', 40, 5, 1)), dev: split('RTE', 'dev', taskRows('rtedev', 12, 5, 2)) },
    MRPC: {
      train: split(
        'MRPC',
        'train',
        taskRows('mrpc', 40, 15, 3, (i) => i % 2 === 0),
      ),
    },
    'SST-2': { train: split('SST-2', 'train', taskRows('sst', 40, 25, 4)) },
  };
}

const BASE: ExperimentInput = {
  tasks: [{ name: 'RTE' }, { name: 'MRPC' }, { name: 'SST-2' }],
  model: { kind: 'random', layers: 1, hidden: 16, heads: 2, intermediate: 32, vocab: 'synthetic' },
  data: { kind: 'synthetic' },
  evalBatchSize: 16,
};
const STAGES = { all: { batchSize: 5, optimizer: { kind: 'adamw', lr: 5e-3, weightDecay: 0 } }, td: { epochs: 5 }, train: { epochs: 1 } };

function env(): SelectionEnv {
  return { data: fastmtlData(), makeEncoder: (exp) => buildEncoder(exp, { vocabSize: TINY_VOCAB }) };
}

describe('FastMTL and random selection through the trainer (tiny model, hand-made tasks)', () => {
  it("BCE discriminator: every RTE-like MRPC candidate makes RTE's top 10, no TD row does; costs are counted exactly", async () => {
    const sel = parseSelectionConfig({ method: 'fastmtl', target: 'RTE', num: 10, tdPerTask: 20, stages: STAGES });
    const before = tf.memory().numTensors;
    const r = await runSelection({ base: BASE, selection: sel, env: env() });
    expect(tf.memory().numTensors).toBe(before);
    const why = r.reasons as FastmtlReasons;
    const chosenUids = Object.values(r.examples!).flat();
    expect(chosenUids).toHaveLength(10);
    const rteLike = chosenUids.filter((u) => u.includes('-rtelike')).length;
    // Every RTE-like candidate is taken (there are fewer than NUM); random would take ~NUM · 9/40 of them.
    const rteLikeCandidates = sampleTdRows(40, 20, 205, 'MRPC').unused.filter((i) => i % 2 === 0).length;
    expect(rteLikeCandidates).toBe(9);
    expect(rteLike).toBe(rteLikeCandidates);
    for (const task of ['MRPC', 'SST-2'] as const) {
      const used = new Set(sampleTdRows(40, 20, 205, task).used.map((i) => (task === 'MRPC' ? fastmtlData().MRPC : fastmtlData()['SST-2']).train.uids[i]));
      for (const u of r.examples![task] ?? []) expect(used.has(u)).toBe(false);
      expect(why.pools[task].candidates).toBe(20);
    }
    expect(why.top.map((e) => e.rank)).toEqual(why.top.map((e) => e.rank).sort((a, b) => a - b));
    for (let i = 1; i < why.top.length; i++) expect(why.top[i].score).toBeLessThanOrEqual(why.top[i - 1].score);
    expect(why.posWeight).toEqual([2, 2, 2]); // 4 batches of 5 per task: (12 − 4) / 4
    expect(why.taskOrder).toEqual(['RTE', 'MRPC', 'SST-2']);
    expect(why.scoring).toBe('sigmoid');
    expect(why.tdTraining.examplesProcessed).toBe(60 * 5);
    expect(why.scoringCost.rowsScored).toBe(40);
    expect(r.examplesProcessed).toBe(60 * 5 + 40);
    expect(r.wallSeconds).toBeGreaterThan(0);
    expect(r.model).toEqual({ layers: 1, heads: 2, hidden: 16 });
    const tr = r.training!;
    expect(tr.tasks[0]).toBe('RTE');
    expect(tr.rows.RTE).toBe(40);
    expect((tr.rows.MRPC ?? 0) + (tr.rows['SST-2'] ?? 0)).toBe(10);
    expect(tr.examplesProcessed).toBe(50);
    expect(tr.epochs).toHaveLength(1);
    expect(tr.last.acc).toBeGreaterThanOrEqual(0);
    expect(tr.wallSeconds).toBeGreaterThan(0);
  });

  it('random baseline: the same pools and NUM, reproducible per seed, never a TD row', async () => {
    const run = (seed: number) =>
      runSelection({
        base: BASE,
        selection: parseSelectionConfig({ method: 'random', target: 'RTE', num: 10, tdPerTask: 20, seed, train: false }),
        env: env(),
      });
    const a = await run(0);
    const why = a.reasons as RandomReasons;
    expect(why.poolSize).toBe(40);
    expect(Object.values(a.examples!).flat()).toHaveLength(10);
    expect((await run(0)).examples).toEqual(a.examples);
    expect((await run(1)).examples).not.toEqual(a.examples);
    expect(a.training).toBeUndefined();
    const mrpcUsed = new Set(sampleTdRows(40, 20, 205, 'MRPC').used.map((i) => `mrpc${i % 2 === 0 ? '-rtelike' : ''}-${i}`));
    for (const u of a.examples!.MRPC ?? []) expect(mrpcUsed.has(u)).toBe(false);
  });

  it('CE discriminator with the clean option is scored with softmax and has no pos_weight', async () => {
    const sel = parseSelectionConfig({
      method: 'fastmtl',
      target: 'RTE',
      num: 5,
      tdPerTask: 20,
      lossKind: 'ce',
      clean: true,
      train: false,
      stages: { ...STAGES, td: { epochs: 2 } },
    });
    const r = await runSelection({ base: BASE, selection: sel, env: env() });
    const why = r.reasons as FastmtlReasons;
    expect(why).toMatchObject({ lossKind: 'ce', scoring: 'softmax', posWeight: null });
    expect(Object.values(r.examples!).flat()).toHaveLength(5);
    for (const e of why.top) expect(e.score).toBeGreaterThan(0);
    expect(why.tdTraining.examplesProcessed).toBe(60 * 2);
  });

  it("rejects a target that is not one of the experiment's tasks, and bad settings, by name", async () => {
    await expect(runSelection({ base: BASE, selection: parseSelectionConfig({ method: 'fastmtl', target: 'CoLA' }), env: env() })).rejects.toThrow(
      "selection: the target CoLA is not one of the experiment's tasks (RTE, MRPC, SST-2)",
    );
    expect(() => parseSelectionConfig({ method: 'fastmtl', num: -1 })).toThrow('selection.num');
    expect(() => parseSelectionConfig({ method: 'magic' })).toThrow('selection.method: unknown selection method');
  });
});
