import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../helpers/nodeBackends.ts';
import { BertEncoder } from '../../src/engine/model/bertEncoder.ts';
import { crossEntropyPerExample } from '../../src/engine/model/losses.ts';
import { randomBertConfig } from '../../src/engine/model/modelFactory.ts';
import { MultiTaskModel } from '../../src/engine/model/multiTaskModel.ts';
import type { BatchTensors } from '../../src/engine/train/batchTensors.ts';
import type { TaskSpec } from '../../src/engine/model/taskSpec.ts';
import {
  SOFT_LABELS_FORMAT,
  averageTeachers,
  distillationLoss,
  distillationLossExtras,
  kdKlLoss,
  kdMseLoss,
  parseSoftLabels,
  serializeSoftLabels,
} from '../../src/engine/train/distillation.ts';

/* Knowledge distillation (docs/methods.md §1.12): the two loss variants against plain float64 JS, the soft-label file, the hook. */

const LOGITS = [
  [1, 2, 0.5],
  [0.1, -1, 2],
];
const Q = [
  [0.2, 0.5, 0.3],
  [0, 0.25, 0.75],
]; // a zero entry: 0·log 0 counts as 0, as PyTorch's kl_div
const HARD = [1, 2];

const logSoftmax = (z: number[]) => {
  const m = Math.max(...z);
  const s = Math.log(z.reduce((a, x) => a + Math.exp(x - m), 0));
  return z.map((x) => x - m - s);
};

beforeAll(async () => {
  await useBackend('cpu');
});

describe('KD losses', () => {
  it("'kl' = C · PyTorch KLDivLoss(log_softmax(logits), q) with elementwise-mean = batch mean of KL(q ‖ p)", async () => {
    const B = 2;
    const C = 3;
    // PyTorch's default reduction: mean over all B·C entries of q·(log q − x), then × C.
    let elementwise = 0;
    for (let i = 0; i < B; i++) {
      const lp = logSoftmax(LOGITS[i]);
      for (let c = 0; c < C; c++) elementwise += Q[i][c] > 0 ? Q[i][c] * (Math.log(Q[i][c]) - lp[c]) : 0;
    }
    const torchStyle = (elementwise / (B * C)) * C;
    // The same number written as the per-example KL averaged over the batch.
    const klMean =
      LOGITS.map((z, i) => {
        const lp = logSoftmax(z);
        return Q[i].reduce((s, q, c) => s + (q > 0 ? q * Math.log(q / Math.exp(lp[c])) : 0), 0);
      }).reduce((a, b) => a + b, 0) / B;
    expect(torchStyle).toBeCloseTo(klMean, 12);
    const l = tf.tensor2d(LOGITS);
    const q = tf.tensor2d(Q);
    const got = kdKlLoss(l, q);
    expect((await got.data())[0]).toBeCloseTo(torchStyle, 6);
    expect(torchStyle).toBeCloseTo(0.2270825555, 9); // numpy: (q·(log q − log_softmax(z))).mean()·3

    // The full 2019 objective: CE(hard) + the KL term.
    const ce = LOGITS.reduce((s, z, i) => s - logSoftmax(z)[HARD[i]], 0) / B;
    const total = tf.tidy(() => tf.add(tf.mean(crossEntropyPerExample(l, tf.tensor1d(HARD, 'int32'))), kdKlLoss(l, q)));
    expect((await total.data())[0]).toBeCloseTo(ce + torchStyle, 6);

    // ∂/∂z of the KL term = (softmax(z) − q) / B.
    const g = tf.grad((z: tf.Tensor) => kdKlLoss(z, q))(l);
    const ga = (await g.array()) as number[][];
    LOGITS.forEach((z, i) => logSoftmax(z).forEach((lp, c) => expect(ga[i][c]).toBeCloseTo((Math.exp(lp) - Q[i][c]) / B, 6)));
    tf.dispose([l, q, got, total, g]);
  });

  it("'mse' = mean over B·C of (logit − q)² (yml-era MseCriterion)", async () => {
    let want = 0;
    LOGITS.forEach((z, i) =>
      z.forEach((x, c) => {
        want += (x - Q[i][c]) ** 2;
      }),
    );
    want /= 6;
    const l = tf.tensor2d(LOGITS);
    const q = tf.tensor2d(Q);
    expect((await kdMseLoss(l, q).data())[0]).toBeCloseTo(want, 6);
    expect((await distillationLoss('mse', 'classification', l, q)!.data())[0]).toBeCloseTo(want, 6);
    tf.dispose([l, q]);
  });

  it('regression and ranking tasks get no KD term; mismatched shapes are refused', () => {
    const s = tf.tensor1d([1, 2]);
    const q = tf.tensor2d(Q);
    expect(distillationLoss('kl', 'regression', s, q)).toBeNull();
    expect(distillationLoss('mse', 'ranking', s, q)).toBeNull();
    const l = tf.tensor2d([[1, 2]]);
    expect(() => distillationLoss('kl', 'classification', l, q)).toThrow('knowledge distillation: logits [1,2] and soft labels [2,3] must both be [B, C]');
    tf.dispose([s, q, l]);
  });
});

describe('soft-label files', () => {
  it('averages an ensemble per uid (any row order) and round-trips through the JSONL file', () => {
    const t1 = { uids: ['0', '1', '2'], scores: [0.2, 0.8, 0.6, 0.4, 0.5, 0.5] };
    const t2 = { uids: ['2', '0', '1'], scores: [0.1, 0.9, 0.4, 0.6, 1, 0] };
    const s = averageTeachers('RTE', 'train', 2, [t1, t2]);
    expect(Array.from(s.byUid.get('0')!)).toEqual([Math.fround(0.3), Math.fround(0.7)]);
    expect(Array.from(s.byUid.get('1')!)).toEqual([Math.fround(0.8), Math.fround(0.2)]);
    expect(Array.from(s.byUid.get('2')!)).toEqual([Math.fround(0.3), Math.fround(0.7)]);
    const text = serializeSoftLabels(s);
    expect(text.split('\n')[0]).toBe(`{"format":"${SOFT_LABELS_FORMAT}","task":"RTE","split":"train","numLabels":2,"teachers":2}`);
    expect(text.split('\n').length).toBe(5); // header, 3 rows, final newline
    const back = parseSoftLabels(text, 'rte.soft.jsonl');
    expect(back.header).toEqual(s.header);
    expect(Array.from(back.batch(['2', '0']))).toEqual([...s.byUid.get('2')!, ...s.byUid.get('0')!]);
  });

  it('refuses teachers that disagree on the examples', () => {
    expect(() =>
      averageTeachers('RTE', 'train', 2, [
        { uids: ['0', '1'], scores: [1, 0, 0, 1] },
        { uids: ['0'], scores: [1, 0] },
      ]),
    ).toThrow('knowledge distillation: teacher 2 of RTE has no prediction for uid 1');
    expect(() =>
      averageTeachers('RTE', 'train', 2, [
        { uids: ['0'], scores: [1, 0] },
        { uids: ['0', '5'], scores: [1, 0, 0, 1] },
      ]),
    ).toThrow('knowledge distillation: uid 5 of RTE is in teacher 2 but not in teacher 1');
    expect(() => averageTeachers('RTE', 'train', 2, [{ uids: ['0'], scores: [1, 0, 0] }])).toThrow('teacher 1 of RTE has 3 scores for 1 examples × 2 classes');
  });

  it('names the file, line and field of a bad record', () => {
    const head = `{"format":"${SOFT_LABELS_FORMAT}","task":"MNLI","split":"train","numLabels":3,"teachers":1}`;
    const bad = (line: string) => () => parseSoftLabels(`${head}\n{"uid":"1","probs":[0.2,0.3,0.5]}\n${line}\n`, 'mnli.soft.jsonl');
    expect(bad('{"uid":"2","probs":[0.2,0.3]}')).toThrow('mnli.soft.jsonl:3: field probs: expected an array of 3 numbers, got [0.2,0.3]');
    expect(bad('{"uid":"2","probs":[0.2,0.3,0.6]}')).toThrow('mnli.soft.jsonl:3: field probs: sums to 1.1, not 1');
    expect(bad('{"uid":"2","probs":[0.2,-0.3,1.1]}')).toThrow('mnli.soft.jsonl:3: field probs[1]: expected a finite number >= 0, got -0.3');
    expect(bad('{"uid":"1","probs":[0.2,0.3,0.5]}')).toThrow('mnli.soft.jsonl:3: field uid: 1 appears twice');
    expect(bad('{"probs":[0.2,0.3,0.5]}')).toThrow('mnli.soft.jsonl:3: field uid: expected a non-empty string, got undefined');
    expect(bad('not json')).toThrow(/^mnli\.soft\.jsonl:3: not valid JSON/);
    expect(() => parseSoftLabels('{"format":"x"}\n', 'f.jsonl')).toThrow(`f.jsonl:1: field format: expected "${SOFT_LABELS_FORMAT}", got "x"`);
  });

  it('a batch with an unknown uid is an error that names it', () => {
    const s = averageTeachers('RTE', 'train', 2, [{ uids: ['0', '1'], scores: [1, 0, 0, 1] }]);
    expect(() => s.batch(['1', '9', '12'])).toThrow('knowledge distillation: no RTE soft label for uid 9, 12 (the teacher file has 2 examples of train)');
  });
});

describe('the KD trainer hook', () => {
  const CLS: TaskSpec = { name: 'RTE', type: 'classification', numLabels: 2, metrics: ['acc'], dropout: 0 };
  const REG: TaskSpec = { name: 'STS-B', type: 'regression', numLabels: 1, metrics: ['pearson'], dropout: 0 };
  let model: MultiTaskModel;
  let batch: BatchTensors;
  beforeAll(() => {
    const config = randomBertConfig({ kind: 'random', layers: 1, hidden: 16, heads: 2, intermediate: 32, vocab: 'synthetic' }, 30, 0);
    model = MultiTaskModel.create(BertEncoder.random({ ...config, initializerRange: 0.5 }, 3), [{ spec: CLS }, { spec: REG }], 3);
    batch = {
      inputIds: tf.tensor2d(
        [
          [2, 5, 3],
          [2, 9, 3],
        ],
        undefined,
        'int32',
      ),
      tokenTypeIds: tf.zeros([2, 3], 'int32') as tf.Tensor2D,
      attentionMask: tf.ones([2, 3], 'int32') as tf.Tensor2D,
      labels: tf.tensor1d([1, 0], 'int32'),
    };
  });
  afterAll(() => {
    model.dispose();
    tf.dispose([batch.inputIds, batch.tokenTypeIds, batch.attentionMask, batch.labels]);
  });

  it('adds the KL term for the rows of the batch (by uid), nothing for regression or tasks without a teacher', async () => {
    const soft = averageTeachers('RTE', 'train', 2, [{ uids: ['a', 'b', 'c'], scores: [0.9, 0.1, 0.3, 0.7, 0.5, 0.5] }]);
    const hook = distillationLossExtras(new Map([['RTE', soft]]), 'kl');
    const [term, logits] = tf.tidy(() => {
      const forward = model.forwardTask('RTE', batch, { training: false });
      const r = hook({ task: 'RTE', taskId: 0, head: model.head('RTE'), model, batch, forward, seed: 1, uids: ['c', 'a'] } as never);
      return [r!.weighted!, forward.output];
    });
    const z = (await logits.array()) as number[][];
    const q = [
      [0.5, 0.5],
      [0.9, 0.1],
    ];
    const want = z.reduce((s, row, i) => s + logSoftmax(row).reduce((t, lp, c) => t + q[i][c] * (Math.log(q[i][c]) - lp), 0), 0) / 2;
    expect((await term.data())[0]).toBeCloseTo(want, 6);
    tf.dispose([term, logits]);

    tf.tidy(() => {
      const fwd = model.forwardTask('STS-B', batch, { training: false });
      expect(hook({ task: 'STS-B', taskId: 1, head: model.head('STS-B'), model, batch, forward: fwd, seed: 1, uids: ['a', 'b'] } as never)).toBeNull();
      const none = distillationLossExtras(new Map(), 'kl');
      const f2 = model.forwardTask('RTE', batch, { training: false });
      expect(none({ task: 'RTE', taskId: 0, head: model.head('RTE'), model, batch, forward: f2, seed: 1 })).toBeNull();
    });
  });

  it('says what is missing when the trainer gives no uids', () => {
    const soft = averageTeachers('RTE', 'train', 2, [{ uids: ['a'], scores: [0.9, 0.1] }]);
    const hook = distillationLossExtras(new Map([['RTE', soft]]), 'mse');
    tf.tidy(() => {
      const forward = model.forwardTask('RTE', batch, { training: false });
      expect(() => hook({ task: 'RTE', taskId: 0, head: model.head('RTE'), model, batch, forward, seed: 1 })).toThrow(
        'knowledge distillation: the trainer passed no example uids with the batch (LossContext.uids), so soft labels cannot be matched to rows',
      );
    });
  });
});
