import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { useBackend } from '../helpers/nodeBackends.ts';
import { tinyExperiment, tinyTrainer, toyRows, disposeTrainersAfterEach } from '../helpers/tinyTraining.ts';
import { memorySplit } from '../../src/engine/train/memorySplit.ts';
import { batchToTensors, disposeBatch } from '../../src/engine/train/batchTensors.ts';
import { BatchReader } from '../../src/engine/data/batchReader.ts';
import { microBatchGradients } from '../../src/engine/train/trainStep.ts';
import { epochTaskOrder, nominalEpochLength, samplingProbs, type ScheduleContext } from '../../src/engine/train/taskScheduler.ts';
import { Rng } from '../../src/engine/runtime/rng.ts';
import type { StepEvent } from '../../src/engine/train/trainEvents.ts';

const track = disposeTrainersAfterEach();
beforeAll(() => useBackend('cpu'));

const small = { kind: 'random', layers: 1, hidden: 8, heads: 2, intermediate: 8, vocab: 'synthetic' } as const;
const data = {
  RTE: { train: memorySplit('RTE', 'train', toyRows('pair', 60, 1)) },
  'STS-B': { train: memorySplit('STS-B', 'train', toyRows('score', 60, 2), { type: 'regression' }) },
};

describe('SIWLM weighting in the trainer', () => {
  async function steps(alternation: boolean): Promise<StepEvent[]> {
    // 15 + 15 batches per epoch: in the sequential (even) epoch the focus moves from task 0 to task 1 at batch 20.
    const exp = tinyExperiment({ model: small, epochs: 2, siwlm: { enabled: true, centralTask: 'STS-B', centralWeight: 15, alternation } });
    const events: StepEvent[] = [];
    const t = track(tinyTrainer(exp, data, { onEvent: (e) => e.type === 'step' && events.push(e) }));
    expect(t.tasks.map((x) => x.name)).toEqual(['STS-B', 'RTE']); // the central task is task 0
    for (let i = 0; i < t.totalSteps; i++) await t.trainStep();
    return events;
  }

  it('weight = task_weight · α: sequential focus windows of 20 batches in even epochs, the central task in odd ones', async () => {
    const ev = await steps(true);
    expect(ev.length).toBe(60);
    for (const [i, e] of ev.entries()) {
      const epoch = Math.floor(i / 30);
      const b = i % 30;
      const favoured = epoch % 2 === 0 ? (b < 20 ? 'STS-B' : 'RTE') : 'STS-B';
      const taskWeight = e.task === 'STS-B' ? 15 : 1;
      expect(e.weights, `step ${i + 1}`).toEqual([taskWeight * (e.task === favoured ? 1 : 0.1)]);
    }
    // MT-DNN's schedule: every batch of every task once per epoch.
    for (const epoch of [0, 1]) {
      const tasks = ev.slice(30 * epoch, 30 * epoch + 30).map((e) => e.task);
      expect(tasks.filter((t) => t === 'RTE').length).toBe(15);
    }
  });

  it('without the alternation the weights are the plain task weights', async () => {
    const ev = await steps(false);
    for (const e of ev) expect(e.weights).toEqual([e.task === 'STS-B' ? 15 : 1]);
  });

  it('a batch weight scales the gradient linearly', () => {
    const t = track(tinyTrainer(tinyExperiment({ model: small, encoderDropout: 0, tasks: [{ name: 'RTE', dropout: 0 }] }), { RTE: data.RTE }));
    const b = new BatchReader([data.RTE.train], { batchSize: 8, seed: 0 }).next();
    const x = batchToTensors(b, 'classification', 2);
    const run = (weight: number) => {
      const r = microBatchGradients(t.model, 'RTE', x, { seed: 0, weight, scale: 0.5 });
      const out = new Map([...r.grads].map(([n, g]) => [n, g.dataSync().slice()]));
      const total = r.totalLoss.dataSync()[0];
      const task = r.taskLoss.dataSync()[0];
      tf.dispose([...r.grads.values(), r.totalLoss, r.taskLoss]);
      return { out, total, task };
    };
    const one = run(1);
    const w = run(15);
    disposeBatch(x);
    expect(w.task).toBe(one.task);
    expect(w.total).toBeCloseTo(one.total * 15, 5);
    expect(one.total).toBeCloseTo(one.task * 0.5, 6);
    for (const [name, g] of one.out) {
      const h = w.out.get(name)!;
      // float32 rounding is relative to the size of the terms summed, not of a (near-)cancelled result such as the
      // key bias gradient, which is 0 in exact arithmetic: the tolerance scales with the tensor's largest entry.
      const scale = 15 * Array.from(g as ArrayLike<number>).reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      for (let i = 0; i < g.length; i++)
        expect(Math.abs(h[i] - 15 * g[i]), `${name}[${i}]`).toBeLessThanOrEqual(1e-5 * Math.abs(15 * g[i]) + 1e-6 * scale + 1e-12);
    }
  });
});

describe('task samplers', () => {
  const ctx: ScheduleContext = { taskNames: ['RTE', 'MRPC'], batchCounts: [10, 30], sizes: [100, 300], totalEpochs: 3 };

  it('mtdnn: every batch once per epoch; the LR schedule counts Σ batches even with a ratio', () => {
    const order = epochTaskOrder({ kind: 'mtdnn', mixOpt: 0, ratio: 0 }, ctx, 0, new Rng(1));
    expect(order.length).toBe(40);
    expect(order.filter((t) => t === 0).length).toBe(10);
    const withRatio = epochTaskOrder({ kind: 'mtdnn', mixOpt: 1, ratio: 0.5 }, ctx, 0, new Rng(1));
    expect(withRatio.length).toBe(15); // 10 task-0 batches + min(10·0.5, 30) auxiliary ones
    expect(withRatio.slice(-10)).toEqual(new Array(10).fill(0)); // mix_opt 1: task 0 last
    expect(nominalEpochLength({ kind: 'mtdnn', mixOpt: 1, ratio: 0.5 }, ctx)).toBe(40);
  });

  it('proportional, sqrt, uniform, temperature and anneal draw each batch from their probabilities', () => {
    expect(samplingProbs({ kind: 'proportional' }, ctx, 0)).toEqual([0.25, 0.75]);
    expect(samplingProbs({ kind: 'uniform' }, ctx, 0)).toEqual([0.5, 0.5]);
    const sq = samplingProbs({ kind: 'sqrt' }, ctx, 0);
    expect(sq[0]).toBeCloseTo(10 / (10 + Math.sqrt(300)), 12); // √100 / (√100 + √300)
    expect(samplingProbs({ kind: 'temperature', temperature: 2 }, ctx, 0)).toEqual(sq);
    // anneal (EmBERT/PALs): α = 1 − 0.8·e/(E − 1): proportional at epoch 0, N^0.2 at the last epoch.
    expect(samplingProbs({ kind: 'anneal', sizes: 'true' }, ctx, 0)).toEqual([0.25, 0.75]);
    const last = samplingProbs({ kind: 'anneal', sizes: 'true' }, ctx, 2);
    expect(last[0]).toBeCloseTo(100 ** 0.2 / (100 ** 0.2 + 300 ** 0.2), 12);
    const order = epochTaskOrder({ kind: 'proportional', stepsPerEpoch: 4000 }, ctx, 0, new Rng(3));
    expect(order.length).toBe(4000);
    const share = order.filter((t) => t === 0).length / 4000;
    expect(Math.abs(share - 0.25)).toBeLessThan(0.03); // 4.4 standard deviations of a binomial share
  });
});
