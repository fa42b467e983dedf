import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../helpers/nodeBackends.ts';
import { BertEncoder } from '../../src/engine/model/bertEncoder.ts';
import { randomBertConfig } from '../../src/engine/model/modelFactory.ts';
import { MultiTaskModel } from '../../src/engine/model/multiTaskModel.ts';
import type { BatchTensors } from '../../src/engine/train/batchTensors.ts';
import type { TaskSpec } from '../../src/engine/model/taskSpec.ts';
import { microBatchGradients } from '../../src/engine/train/trainStep.ts';
import { detach, smartAdversarialLoss, smartLossExtras, smartLossForBatch, taskAdversarialForward } from '../../src/engine/train/smart.ts';

/*
 * SMART (docs/methods.md §1.14, §7.17) on a tiny random encoder (H 16, 2 layers, 2 heads, vocab 40, dropout 0.1);
 * smartLinear.test.ts checks the normalisation and the perturbation on linear "models" worked out on paper.
 */

const CLS: TaskSpec = { name: 'RTE', type: 'classification', numLabels: 3, metrics: ['acc'], dropout: 0.1 };
const REG: TaskSpec = { name: 'STS-B', type: 'regression', numLabels: 1, metrics: ['pearson'], dropout: 0.1 };

let model: MultiTaskModel;
let batch: BatchTensors;

function tinyModel(seed: number): MultiTaskModel {
  const config = randomBertConfig({ kind: 'random', layers: 2, hidden: 16, heads: 2, intermediate: 32, vocab: 'synthetic' }, 40, 0.1);
  // A wider init than BERT's 0.02 so the logits differ between examples and the KL terms are well above float32 noise.
  const encoder = BertEncoder.random({ ...config, initializerRange: 0.5 }, seed);
  return MultiTaskModel.create(encoder, [{ spec: CLS }, { spec: REG }], seed);
}

function makeBatch(): BatchTensors {
  // Three rows, the last two padded (0 = [PAD]); pair rows have type ids 1 on the second segment.
  const ids = [
    [2, 7, 9, 11, 3, 15, 3],
    [2, 8, 3, 20, 21, 3, 0],
    [2, 30, 31, 3, 0, 0, 0],
  ];
  const types = [
    [0, 0, 0, 0, 0, 1, 1],
    [0, 0, 0, 1, 1, 1, 0],
    [0, 0, 0, 0, 0, 0, 0],
  ];
  return {
    inputIds: tf.tensor2d(ids, undefined, 'int32'),
    tokenTypeIds: tf.tensor2d(types, undefined, 'int32'),
    attentionMask: tf.tensor2d(
      ids.map((r) => r.map((x) => (x === 0 ? 0 : 1))),
      undefined,
      'int32',
    ),
    labels: tf.tensor1d([0, 2, 1], 'int32'),
  };
}

beforeAll(async () => {
  await useBackend('cpu');
  model = tinyModel(7);
  batch = makeBatch();
});

afterAll(() => {
  model.dispose();
  tf.dispose([batch.inputIds, batch.tokenTypeIds, batch.attentionMask, batch.labels]);
});

describe('SMART with no perturbation', () => {
  for (const training of [true, false]) {
    it(`noise_var = 0, step_size = 0 gives the clean logits and adv_loss 0 (training ${training}, dropout 'same')`, async () => {
      const [clean, adv, loss] = tf.tidy(() => {
        const fwd = model.forwardTask('RTE', batch, { training, seed: 1234 });
        const r = smartAdversarialLoss(
          {
            forward: taskAdversarialForward(model, 'RTE', batch, training),
            logits: fwd.output,
            embedding: fwd.encoder.embeddingOutput,
            attentionMask: batch.attentionMask,
            taskType: 'classification',
            seed: 99,
            cleanDropoutSeed: 1234,
          },
          { noiseVar: 0, stepSize: 0, dropout: 'same' },
        );
        return [fwd.output, r.advLogits, r.advLoss];
      });
      const c = (await clean.array()) as number[][];
      const a = (await adv.array()) as number[][];
      expect(a).toEqual(c); // bit-identical: e + 0 is e
      const l = (await loss.data())[0];
      expect(Math.abs(l)).toBeLessThan(1e-7);
      tf.dispose([clean, adv, loss]);
    });
  }

  it("with dropout 'fresh' the adversarial forward draws its own masks, so the term is not 0 even without noise", async () => {
    const loss = tf.tidy(() => {
      const fwd = model.forwardTask('RTE', batch, { training: true, seed: 1234 });
      return smartLossForBatch(model, 'RTE', batch, fwd, 1234, { noiseVar: 0, stepSize: 0 }).advLoss;
    });
    expect((await loss.data())[0]).toBeGreaterThan(1e-6);
    loss.dispose();
  });
});
describe('SMART on the encoder', () => {
  it('the adversarial loss is >= 0 and its gradient reaches the encoder layers and the head', async () => {
    const vars = model.taskVariables('RTE');
    const { value, grads } = tf.variableGrads(() => {
      const fwd = model.forwardTask('RTE', batch, { training: true, seed: 42 });
      return smartLossForBatch(model, 'RTE', batch, fwd, 42, { stepSize: 0.5, noiseVar: 1e-3 }).advLoss;
    }, [...vars.values()]);
    const loss = (await value.data())[0];
    expect(loss).toBeGreaterThan(0);
    const nameOf = new Map([...vars].map(([n, v]) => [v.name, n]));
    const norms = new Map<string, number>();
    for (const [k, g] of Object.entries(grads))
      norms.set(
        nameOf.get(k)!,
        tf.tidy(() => tf.norm(g).dataSync()[0]),
      );
    for (const name of [
      'encoder.layer.0.attention.self.query.weight',
      'encoder.layer.1.output.dense.weight',
      'pooler.dense.weight',
      'embeddings.word_embeddings.weight',
      'heads.RTE.classifier.weight',
    ]) {
      expect(norms.get(name), name).toBeGreaterThan(0);
      expect(Number.isFinite(norms.get(name)!), name).toBe(true);
    }
    value.dispose();
    tf.dispose(Object.values(grads));
  });

  it('regression heads use MSE: the term is (clean − adversarial)² averaged over the batch', async () => {
    const [loss, clean, adv] = tf.tidy(() => {
      const fwd = model.forwardTask('STS-B', batch, { training: false });
      const r = smartAdversarialLoss(
        {
          forward: taskAdversarialForward(model, 'STS-B', batch, false),
          logits: fwd.output,
          embedding: fwd.encoder.embeddingOutput,
          attentionMask: batch.attentionMask,
          taskType: 'regression',
          seed: 3,
        },
        { stepSize: 0.5 },
      );
      return [r.advLoss, fwd.output, r.advLogits];
    });
    const c = await clean.data();
    const a = await adv.data();
    const want = Array.from(c).reduce((s, x, i) => s + (x - a[i]) ** 2, 0) / c.length;
    expect(want).toBeGreaterThan(0);
    expect((await loss.data())[0]).toBeCloseTo(want, 6);
    tf.dispose([loss, clean, adv]);
  });

  it('a non-finite inner gradient makes the term 0 (finite flag 0), as MT-DNN returns 0', async () => {
    const e = tf.tensor3d([[[0.5, 1]]]);
    const [loss, finite] = tf.tidy(() => {
      const clean = tf.tensor2d([[0.1, 0.2]]);
      // The inner forward overflows to ±Inf (δ₀ ≠ 0), the final one (p = 0) stays finite.
      const r = smartAdversarialLoss(
        {
          forward: (d) => tf.add(clean, tf.mul(tf.mul(tf.sum(d), 1e38), 1e38)),
          logits: clean,
          embedding: e,
          attentionMask: tf.ones([1, 1]) as tf.Tensor2D,
          taskType: 'classification',
          seed: 1,
        },
        { noiseVar: 1 },
      );
      return [r.advLoss, r.finite];
    });
    expect((await finite.data())[0]).toBe(0);
    expect((await loss.data())[0]).toBe(0);
    tf.dispose([e, loss, finite]);
  });

  it('the outer backward never walks the inner gradient graph (its kernels, e.g. LessEqual, have no gradient)', async () => {
    // minimum's gradient is built with LessEqual/Greater masks, which tfjs cannot differentiate: if anything derived
    // from the inner gradient stayed on the outer tape's path, variableGrads would throw here.
    const w = tf.variable(tf.tensor1d([0.5, -1.5]));
    const e = tf.tensor3d([[[0.3, -0.2]], [[0.7, 0.1]]]);
    const f = (d: tf.Tensor) => tf.sum(tf.minimum(tf.mul(tf.add(e, d), w), 0.05), [1, 2]); // the mask depends on w
    const { value, grads } = tf.variableGrads(
      () =>
        smartAdversarialLoss(
          {
            forward: (d) => f(d),
            logits: f(tf.zerosLike(e)),
            embedding: e,
            attentionMask: tf.ones([2, 1]) as tf.Tensor2D,
            taskType: 'regression',
            seed: 2,
          },
          { noiseVar: 0.5, stepSize: 0.3 },
        ).advLoss,
      [w],
    );
    expect((await value.data())[0]).toBeGreaterThan(0);
    expect(Number.isFinite((await grads[w.name].data())[0])).toBe(true);
    tf.dispose([w, e, value, ...Object.values(grads)]);
  });

  it('detach shares the data but cuts the tape', async () => {
    const x = tf.scalar(3);
    const g = tf.grad((v: tf.Tensor) => tf.add(tf.mul(v, v), tf.mul(detach(tf.mul(v, v)), v)))(x);
    // d/dv (v² + c·v) with c = 9 held constant = 2v + 9 = 15
    expect((await g.data())[0]).toBe(15);
    tf.dispose([x, g]);
  });

  it('through the trainer hook: finite gradients, the same result for the same seed, and tf.memory().numTensors flat', async () => {
    const extras = smartLossExtras({ stepSize: 0.1 });
    const run = () => {
      const r = microBatchGradients(model, 'RTE', batch, { seed: 77, weight: 1, scale: 1, lossExtras: extras });
      const norm = tf.tidy(() => tf.norm(tf.stack([...r.grads.values()].map((g) => tf.norm(g)))).dataSync()[0]);
      const q = r.grads.get('encoder.layer.0.attention.self.query.weight')!.dataSync().slice(0, 4);
      tf.dispose([r.taskLoss, r.totalLoss, ...r.grads.values()]);
      return { norm, q: Array.from(q) };
    };
    const plain = microBatchGradients(model, 'RTE', batch, { seed: 77, weight: 1, scale: 1 });
    const plainNorm = tf.tidy(() => tf.norm(tf.stack([...plain.grads.values()].map((g) => tf.norm(g)))).dataSync()[0]);
    tf.dispose([plain.taskLoss, plain.totalLoss, ...plain.grads.values()]);

    const first = run();
    const before = tf.memory().numTensors;
    const counts: number[] = [];
    for (let i = 0; i < 4; i++) {
      const r = run();
      expect(r).toEqual(first);
      counts.push(tf.memory().numTensors);
    }
    expect(Number.isFinite(first.norm)).toBe(true);
    expect(first.norm).not.toBe(plainNorm); // the term changes the gradient
    expect(counts).toEqual([before, before, before, before]);
  });
});
