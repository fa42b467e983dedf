import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { FIXTURE_NAMES, fixtureModelDir, loadFixture } from '../helpers/shared.ts';
import { maxRelDiff } from '../helpers/compare.ts';
import {
  GRAD_FIELDS,
  LOSS_FIELDS,
  LOSS_TOL,
  NORMALIZED_FIELDS,
  TASKS,
  TOL,
  extremes,
  importanceFieldErrors,
  maxAbs,
  normalizedMatrices,
} from '../helpers/importanceFixtureCompare.ts';
import { NODE_TEST_BACKENDS, useBackend } from '../helpers/nodeBackends.ts';
import { dirSource } from '../../src/engine/platform/node/nodeSource.ts';
import { loadBertCheckpoint } from '../../src/engine/checkpoint/hfFolder.ts';
import type { BertCheckpoint } from '../../src/engine/checkpoint/types.ts';
import { BertEncoder } from '../../src/engine/model/bertEncoder.ts';
import { RankingHead } from '../../src/engine/model/heads/rankingHead.ts';
import { computeImportanceFixture, fixtureHead, fixtureMinibatch, type ImportanceFixtureResult } from '../helpers/fixtureCheck.ts';
import { batchMeanLossMaskGrad, maskImportance } from '../../src/engine/analysis/headImportance.ts';
import { LiveMaskImportance } from '../../src/engine/analysis/liveMaskImportance.ts';
import { gradtsImportance } from '../../src/engine/analysis/gradtsImportance.ts';
import { headCorrelation } from '../../src/engine/analysis/taskCorrelation.ts';
import { instanceToTaskCorrelation } from '../../src/engine/analysis/instanceCorrelation.ts';
import { disposeBatch, taskLosses } from '../../src/engine/analysis/exampleLoss.ts';
import type { LabelledBatch } from '../../src/engine/analysis/types.ts';

async function loadModel(name: (typeof FIXTURE_NAMES)[number], patch: Partial<BertCheckpoint['config']> = {}) {
  const ckpt = await loadBertCheckpoint(dirSource(fixtureModelDir(name)));
  return BertEncoder.fromCheckpoint({ config: { ...ckpt.config, ...patch }, tensors: ckpt.tensors });
}

for (const backend of NODE_TEST_BACKENDS) {
  for (const name of FIXTURE_NAMES) {
    describe(`head importance vs float64 reference: ${name} on ${backend}`, () => {
      const fx = loadFixture(name);
      let model: BertEncoder;
      let ours: ImportanceFixtureResult;
      let tensorsBefore = 0;
      beforeAll(async () => {
        await useBackend(backend);
        model = await loadModel(name);
        tensorsBefore = tf.memory().numTensors;
        ours = await computeImportanceFixture(fx, model);
      });
      afterAll(() => model?.dispose());

      for (const task of TASKS) {
        it(`${task}: per-example losses and their mean within ${LOSS_TOL} relative`, () => {
          expect(ours[task].per_example_loss).toHaveLength(fx.minibatch.example_ids.length);
          const worst = importanceFieldErrors(ours[task], fx.minibatch[task]);
          for (const k of LOSS_FIELDS) expect(worst[k], k).toBeLessThan(LOSS_TOL);
        });

        it(`${task}: mask gradients and raw importances (mask and GradTS) within ${TOL} relative`, () => {
          const worst = importanceFieldErrors(ours[task], fx.minibatch[task]);
          for (const k of GRAD_FIELDS) expect(worst[k], k).toBeLessThan(TOL);
        });

        it(`${task}: normalised matrices within ${TOL} of the [0, 1] scale, with 0 and 1 on the same heads`, () => {
          const ref = fx.minibatch[task];
          const worst = importanceFieldErrors(ours[task], ref);
          for (const k of NORMALIZED_FIELDS) expect(worst[k], k).toBeLessThan(TOL);
          const refMats = normalizedMatrices(ref);
          normalizedMatrices(ours[task]).forEach((m, i) => expect(extremes(m), `matrix ${i}`).toEqual(extremes(refMats[i]!)));
        });
      }

      it('GradTS τ-b (regression main, classification aux) from our matrices equals the fixture within 1e-9 (no tie flipped)', () => {
        const want = fx.minibatch.gradts_correlation;
        expect(ours.gradts_correlation.task_level_kendall_tau_b).toBeCloseTo(want.task_level_kendall_tau_b, 9);
        expect(ours.gradts_correlation.instance_level_kendall_tau_b).toHaveLength(want.instance_level_kendall_tau_b.length);
        ours.gradts_correlation.instance_level_kendall_tau_b.forEach((v, i) => expect(v, `instance ${i}`).toBeCloseTo(want.instance_level_kendall_tau_b[i], 9));
        // The same numbers through the public functions, on our matrices.
        expect(headCorrelation(ours.regression.gradts_task_normalized, ours.classification.gradts_task_normalized)).toBe(
          ours.gradts_correlation.task_level_kendall_tau_b,
        );
        expect(instanceToTaskCorrelation(ours.regression.gradts_task_normalized, ours.classification.gradts_instance_normalized)).toEqual(
          ours.gradts_correlation.instance_level_kendall_tau_b,
        );
      });

      it('leaves tf.memory().numTensors as it found it', () => {
        // computeImportanceFixture ran once in beforeAll: nothing it made may survive it.
        expect(tf.memory().numTensors).toBe(tensorsBefore);
      });
    });
  }
}

// The analysis code is the same on every backend (the fixture checks above cover each backend's numerics), so
// the slower behavioural checks run on wasm only: the cpu backend takes ~10× as long.
for (const name of FIXTURE_NAMES) {
  describe(`mask importance, live variant and tensor bookkeeping: ${name} on wasm`, () => {
    const fx = loadFixture(name);
    let model: BertEncoder;
    beforeAll(async () => {
      await useBackend('wasm');
      model = await loadModel(name);
    });
    afterAll(() => model?.dispose());

    it('live variant: batches of one give the per-example importance; one batch of 8 gives |∂ mean loss/∂m|', async () => {
      const ref = fx.minibatch.regression;
      const head = fixtureHead(fx, 'regression');
      const batch = fixtureMinibatch(fx, 'regression');
      const n = batch.labels.shape[0];
      const singles: LabelledBatch[] = Array.from({ length: n }, (_, i) => ({
        inputIds: tf.slice(batch.inputIds, [i, 0], [1, -1]),
        tokenTypeIds: tf.slice(batch.tokenTypeIds, [i, 0], [1, -1]),
        attentionMask: tf.slice(batch.attentionMask, [i, 0], [1, -1]),
        labels: tf.slice(batch.labels, [i], [1]),
      }));
      try {
        const perBatch = await maskImportance(model, head, singles, { perExample: false });
        expect(perBatch.count).toBe(n);
        expect(perBatch.perExample).toBeUndefined();
        expect(maxRelDiff(perBatch.raw, ref.importance_raw, 1e-3 * maxAbs(ref.importance_raw))).toBeLessThan(TOL);
        expect(maxRelDiff(perBatch.normalized, ref.importance_normalized, 1)).toBeLessThan(TOL);
        const whole = await maskImportance(model, head, [batch], { perExample: false });
        const absMean = ref.batch_mean_loss_mask_grad.map((r: number[]) => r.map(Math.abs));
        expect(whole.count).toBe(1);
        expect(maxRelDiff(whole.raw, absMean, 1e-3 * maxAbs(absMean))).toBeLessThan(TOL);
      } finally {
        singles.forEach(disposeBatch);
        disposeBatch(batch);
        head.dispose();
      }
    });

    it('keeps tf.memory().numTensors flat across repeated importance computations', async () => {
      const head = fixtureHead(fx, 'classification');
      const batch = fixtureMinibatch(fx, 'classification');
      const before = tf.memory().numTensors;
      for (let i = 0; i < 2; i++) {
        await maskImportance(model, head, [batch], { perExample: true });
        await maskImportance(model, head, [batch], { perExample: false });
        await gradtsImportance(model, head, [batch], { training: false });
        expect(tf.memory().numTensors, `after round ${i + 1}`).toBe(before);
      }
      disposeBatch(batch);
      head.dispose();
    });
  });
}

describe('importance measures: behaviour beyond the fixtures (wasm)', () => {
  const fx = loadFixture('random-tiny');
  beforeAll(() => useBackend('wasm'));

  it("GradTS's head block is the K/V kernels' INPUT rows (HF columns): output columns would miss the fixture", async () => {
    const model = await loadModel('random-tiny');
    const head = fixtureHead(fx, 'classification');
    const batch = fixtureMinibatch(fx, 'classification');
    try {
      const A = model.numHeads,
        H = model.config.hiddenSize,
        d = H / A;
      const layers = model.params.layers;
      // Example 0's gradients, reduced both ways: kernel rows h·d.. (ours) and kernel columns h·d.. (the true head outputs).
      const { rows, cols } = tf.tidy(() => {
        const ex = {
          inputIds: tf.slice(batch.inputIds, [0, 0], [1, -1]) as tf.Tensor2D,
          tokenTypeIds: tf.slice(batch.tokenTypeIds, [0, 0], [1, -1]) as tf.Tensor2D,
          attentionMask: tf.slice(batch.attentionMask, [0, 0], [1, -1]) as tf.Tensor2D,
          labels: tf.slice(batch.labels, [0], [1]) as tf.Tensor1D,
        };
        const { grads } = tf.variableGrads(
          () => tf.sum(taskLosses(model, head, ex)) as tf.Scalar,
          layers.flatMap((w) => [w.key.kernel, w.value.kernel]),
        );
        const g = layers.map((w) => tf.add(tf.abs(grads[w.key.kernel.name]), tf.abs(grads[w.value.kernel.name])));
        return {
          rows: tf.stack(g.map((x) => tf.mean(tf.reshape(x, [A, d * H]), 1))).arraySync() as number[][],
          cols: tf.stack(g.map((x) => tf.mean(tf.reshape(tf.transpose(x), [A, d * H]), 1))).arraySync() as number[][],
        };
      });
      const ref = fx.minibatch.classification.gradts_raw_per_example[0];
      expect(maxRelDiff(rows, ref, 1e-3 * maxAbs(ref))).toBeLessThan(TOL);
      expect(maxRelDiff(cols, ref, 1e-3 * maxAbs(ref))).toBeGreaterThan(0.05);
    } finally {
      disposeBatch(batch);
      head.dispose();
      model.dispose();
    }
  });

  it('GradTS measures with dropout on by default: seeded runs repeat, and differ from training: false', async () => {
    const model = await loadModel('random-tiny', { hiddenDropoutProb: 0.1, attentionProbsDropoutProb: 0.1 });
    const head = fixtureHead(fx, 'regression');
    const batch = fixtureMinibatch(fx, 'regression');
    try {
      const a = await gradtsImportance(model, head, [batch], { dropoutSeed: 11 });
      const b = await gradtsImportance(model, head, [batch], { dropoutSeed: 11 });
      const evalMode = await gradtsImportance(model, head, [batch], { training: false });
      expect(b.rawPerExample).toEqual(a.rawPerExample);
      expect(maxRelDiff(evalMode.rawPerExample, fx.minibatch.regression.gradts_raw_per_example, 1e-3)).toBeLessThan(TOL);
      expect(maxRelDiff(a.rawPerExample, evalMode.rawPerExample, 1e-3)).toBeGreaterThan(0.01);
    } finally {
      disposeBatch(batch);
      head.dispose();
      model.dispose();
    }
  });

  it('ranking batches: one example per candidate group; per-example gradients sum to the batch gradient', async () => {
    const model = await loadModel('random-tiny');
    const ranker = new RankingHead('qnli', model.config.hiddenSize, 0, 2, { seed: 3 });
    const mb = fixtureMinibatch(fx, 'classification'); // 8 rows → 4 groups of 2 candidates
    const batch: LabelledBatch = { ...mb, labels: tf.tensor1d([0, 1, 1, 0], 'int32') };
    try {
      const r = await maskImportance(model, ranker, [batch], { perExample: true });
      expect(r.count).toBe(4);
      expect(r.perExampleLoss).toHaveLength(4);
      const mean = await batchMeanLossMaskGrad(model, ranker, batch);
      const sumOfExamples = mean.map((row, l) => row.map((_, h) => r.perExample!.reduce((s, g) => s + g[l][h], 0) / 4));
      expect(maxRelDiff(sumOfExamples, mean, 1e-3 * maxAbs(mean))).toBeLessThan(TOL);
      const wrong: LabelledBatch = { ...mb, labels: tf.tensor1d([0, 1, 1], 'int32') };
      await expect(maskImportance(model, ranker, [wrong], { perExample: true })).rejects.toThrow(
        'importance batch: 8 input rows do not split into 3 labelled examples',
      );
      wrong.labels.dispose();
    } finally {
      disposeBatch(mb);
      batch.labels.dispose();
      ranker.dispose();
      model.dispose();
    }
  });

  it('LiveMaskImportance sums |gradients| over batches and names a shape mismatch', () => {
    const live = new LiveMaskImportance();
    expect(() => live.current()).toThrow('LiveMaskImportance.current: no batch added yet');
    live.addBatch([
      [1, -2],
      [0.5, 0],
    ]);
    live.addBatch([
      [-1, 1],
      [0.5, -4],
    ]);
    const cur = live.current();
    expect(cur.raw).toEqual([
      [2, 3],
      [1, 4],
    ]);
    expect(cur.batches).toBe(2);
    // Layers ÷ L2 norm: [2,3]/√13, [1,4]/√17 → min 1/√17, max 4/√17.
    const v = [2 / Math.sqrt(13), 3 / Math.sqrt(13), 1 / Math.sqrt(17), 4 / Math.sqrt(17)];
    const lo = v[2],
      hi = v[3];
    expect(
      cur.normalized
        .flat()
        .map((x, i) => x - (v[i] - lo) / (hi - lo))
        .every((e) => Math.abs(e) < 1e-12),
    ).toBe(true);
    expect(() =>
      live.addBatch([
        [1, 2, 3],
        [1, 2, 3],
      ]),
    ).toThrow('LiveMaskImportance.addBatch: gradient has shape [2, 3], expected [2, 2]');
    expect(() =>
      live.addBatch([
        [1, Number.NaN],
        [0, 0],
      ]),
    ).toThrow('LiveMaskImportance.addBatch: gradient [0, 1] is NaN');
    live.reset();
    expect(live.batches).toBe(0);
  });
});
