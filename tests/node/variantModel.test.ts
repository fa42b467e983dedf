import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { maxAbsDiff } from '../helpers/compare.ts';
import type { NamedTensor } from '../../src/engine/checkpoint/types.ts';
import { type EncoderInput } from '../../src/engine/model/bertEncoder.ts';
import { type VariantName } from '../../src/engine/model/variants/variantConfig.ts';
import { createVariantExtension } from '../../src/engine/model/variants/createVariantExtension.ts';
import type { VariantExtension } from '../../src/engine/model/variants/variantExtension.ts';
import { gatedTrainableNames } from '../../src/engine/model/variants/gatedAttention.ts';
import { ProjectedAttentionLayers } from '../../src/engine/model/variants/projectedAttentionLayers.ts';
import {
  EXTENSION_VARIANTS,
  NUM_TASKS,
  TASK,
  batchOf,
  ckpt,
  disposeInput,
  encoder,
  fx,
  useVariantEncoder,
  variantConfig,
  withExtension,
} from '../helpers/variantEncoder.ts';

/* Model variants (docs/methods.md §5.1, §5.3, §5.4) on the random-tiny encoder: see tests/helpers/variantEncoder.ts. */
useVariantEncoder();

describe('identity: neutral init reproduces plain BERT', () => {
  let input: EncoderInput;
  let plain: { last: number[][][]; pooled: number[][]; attn: number[][][][][]; hidden: number[][][][] };
  beforeAll(() => {
    input = batchOf(fx.examples);
    plain = tf.tidy(() => {
      const r = encoder.forward(input, { outputAttentions: true, outputHiddenStates: true, taskId: TASK });
      return {
        last: r.lastHiddenState.arraySync(),
        pooled: r.pooled.arraySync(),
        attn: tf.stack(r.attentions!, 1).arraySync() as number[][][][][],
        hidden: tf.stack(r.hiddenStates!, 1).arraySync() as number[][][][],
      };
    });
  });
  afterAll(() => disposeInput(input));

  for (const variant of EXTENSION_VARIANTS) {
    it(`${variant}: last hidden state, pooled and attentions equal plain BERT within 1e-5 and the float64 reference within 1e-4`, () => {
      const ext = createVariantExtension(variantConfig(ckpt.config, variant), { from: 'neutral', seed: 7 })!;
      const out = withExtension(ext, () =>
        tf.tidy(() => {
          const r = encoder.forward(input, { outputAttentions: true, outputHiddenStates: true, taskId: TASK });
          return {
            last: r.lastHiddenState.arraySync(),
            pooled: r.pooled.arraySync(),
            attn: tf.stack(r.attentions!, 1).arraySync() as number[][][][][],
            hidden: tf.stack(r.hiddenStates!, 1).arraySync() as number[][][][],
          };
        }),
      );
      ext.dispose();
      expect(maxAbsDiff(out.last, plain.last)).toBeLessThan(1e-5);
      expect(maxAbsDiff(out.pooled, plain.pooled)).toBeLessThan(1e-5);
      expect(maxAbsDiff(out.attn, plain.attn)).toBeLessThan(1e-5);
      let ref = 0;
      fx.examples.forEach((e: any, i: number) => {
        ref = Math.max(ref, maxAbsDiff(out.hidden[i], e.hidden_states), maxAbsDiff(out.attn[i], e.attentions));
      });
      expect(ref).toBeLessThan(1e-4);
      console.log(
        `${variant} identity: vs plain BERT ${Math.max(maxAbsDiff(out.last, plain.last), maxAbsDiff(out.pooled, plain.pooled), maxAbsDiff(out.attn, plain.attn))}, vs float64 reference ${ref.toExponential(2)}`,
      );
    });

    it(`${variant}: a random (non-neutral) init does change the output (the identity check can fail)`, () => {
      const ext = createVariantExtension(variantConfig(ckpt.config, variant), { from: 'random', seed: 7 })!;
      const last = withExtension(ext, () => tf.tidy(() => encoder.forward(input, { taskId: TASK }).lastHiddenState.arraySync()));
      ext.dispose();
      expect(maxAbsDiff(last[0], plain.last[0])).toBeGreaterThan(1e-3);
    });
  }
});

describe('save and load', () => {
  const cases: [VariantName, Record<string, unknown>][] = [
    ['embert', {}],
    ['gated', {}],
    ['gated', { gated_task_scale: 'hidden' }],
    ['pals', {}],
    ['pals', { pal_shared_projections: false }],
  ];
  for (const [variant, extra] of cases) {
    it(`${variant} ${JSON.stringify(extra)}: snapshot → rebuild gives bit-identical outputs for every task`, () => {
      const cfg = variantConfig(ckpt.config, variant, extra);
      const a = createVariantExtension(cfg, { from: 'random', seed: 11 })!;
      const snap = a.snapshot();
      const b = createVariantExtension(cfg, { from: 'tensors', tensors: snap })!;
      expect([...b.namedVariables().keys()]).toEqual([...a.namedVariables().keys()]);
      expect(b.snapshot()).toEqual(snap);
      const input = batchOf(fx.examples.slice(0, 2));
      for (let task = 0; task < NUM_TASKS; task++) {
        const run = (ext: VariantExtension) =>
          withExtension(ext, () =>
            tf.tidy(() => {
              const r = encoder.forward(input, { taskId: task, outputAttentions: true });
              return [r.lastHiddenState.dataSync().slice(), r.pooled.dataSync().slice(), ...r.attentions!.map((t) => t.dataSync().slice())];
            }),
          );
        const [ra, rb] = [run(a), run(b)];
        ra.forEach((x, k) => expect(Buffer.from(rb[k].buffer).equals(Buffer.from(x.buffer))).toBe(true));
      }
      disposeInput(input);
      a.dispose();
      b.dispose();
    });
  }

  it('uses stable names in PyTorch layout', () => {
    const cfg = variantConfig(ckpt.config, 'pals');
    const ext = createVariantExtension(cfg, { from: 'random', seed: 1 })!;
    const shapes = Object.fromEntries(ext.snapshot().map((t) => [t.name, t.shape]));
    expect(shapes['pals.task.2.enc.weight']).toEqual([12, 32]);
    expect(shapes['pals.task.2.dec.weight']).toEqual([32, 12]);
    expect(shapes['pals.layer.1.task.0.attn.value.bias']).toEqual([12]);
    ext.dispose();
    const g = createVariantExtension(variantConfig(ckpt.config, 'gated'), { from: 'random', seed: 1 })!;
    const gs = Object.fromEntries(g.snapshot().map((t) => [t.name, t.shape]));
    expect(gs['embert.layer.0.task_emb_q']).toEqual([3, 32]);
    expect(gs['embert.layer.1.task_emb_q']).toBeUndefined(); // the last layer is the gated one
    expect(gs['gated.gate_q.weight']).toEqual([3, 32 * 32]);
    expect(gs['gated.task.1.query_down.weight']).toEqual([12, 32]);
    expect(gs['gated.task.1.query_up.weight']).toEqual([32, 12]);
    expect(gs['gated.task_emb_v']).toEqual([3, 1]);
    g.dispose();
  });

  it('rejects a snapshot that does not fit the config, naming the tensor', () => {
    const cfg = variantConfig(ckpt.config, 'pals');
    const ext = createVariantExtension(cfg, { from: 'random', seed: 1 })!;
    const snap = ext.snapshot();
    ext.dispose();
    const before = tf.memory().numTensors;
    expect(() => createVariantExtension(cfg, { from: 'tensors', tensors: snap.filter((t) => t.name !== 'pals.task.1.dec.bias') })).toThrow(
      'PALs: checkpoint is missing tensor pals.task.1.dec.bias (shape [32])',
    );
    const wrong: NamedTensor[] = snap.map((t) => (t.name === 'pals.task.0.enc.weight' ? { ...t, shape: [32, 12] } : t));
    expect(() => createVariantExtension(cfg, { from: 'tensors', tensors: wrong })).toThrow(
      'PALs: tensor pals.task.0.enc.weight has shape [32,12], expected [12,32] from the variant config',
    );
    expect(() => createVariantExtension(variantConfig(ckpt.config, 'pals', { num_tasks: 2 }), { from: 'tensors', tensors: snap })).toThrow(
      'PALs: checkpoint has tensors this variant config does not use: pals.task.2.enc.weight',
    );
    expect(tf.memory().numTensors).toBe(before); // failed constructions release what they allocated
  });
});

describe('variant errors', () => {
  it('Gated-BERT rejects a sequence not padded to gated_seq_len, and a task id out of range', () => {
    const ext = createVariantExtension(variantConfig(ckpt.config, 'gated', { gated_seq_len: 16 }), { from: 'random', seed: 1 })!;
    const input = batchOf(fx.examples.slice(0, 2));
    expect(() =>
      withExtension(ext, () =>
        tf.tidy(() => {
          encoder.forward(input, { taskId: 0 });
        }),
      ),
    ).toThrow('Gated-BERT: input length 32 must equal gated_seq_len 16: the gate reads the flattened sequence, so pad every batch to exactly 16 tokens');
    ext.dispose();
    const pals = createVariantExtension(variantConfig(ckpt.config, 'pals'), { from: 'random', seed: 1 })!;
    expect(() =>
      withExtension(pals, () =>
        tf.tidy(() => {
          encoder.forward(input, { taskId: 3 });
        }),
      ),
    ).toThrow('PALs: taskId 3 is out of range for num_tasks 3');
    pals.dispose();
    disposeInput(input);
  });

  it('Gated-BERT pads a shorter batch to gated_seq_len itself: outputs equal a batch padded by hand, cut back', async () => {
    const ext = createVariantExtension(variantConfig(ckpt.config, 'gated'), { from: 'random', seed: 3 })!;
    const T = 20; // < gated_seq_len 32
    const short = batchOf(fx.examples.slice(0, 3), T);
    const padded = {
      inputIds: tf.pad(
        short.inputIds,
        [
          [0, 0],
          [0, fx.max_seq_len - T],
        ],
        ckpt.config.padTokenId,
      ) as tf.Tensor2D,
      tokenTypeIds: tf.pad(short.tokenTypeIds, [
        [0, 0],
        [0, fx.max_seq_len - T],
      ]) as tf.Tensor2D,
      attentionMask: tf.pad(short.attentionMask, [
        [0, 0],
        [0, fx.max_seq_len - T],
      ]) as tf.Tensor2D,
    };
    const before = tf.memory().numTensors;
    const [a, b, pa, pb] = withExtension(ext, () =>
      tf.tidy(() => {
        const x = encoder.forward(short, { taskId: TASK });
        const y = encoder.forward(padded, { taskId: TASK });
        return [x.lastHiddenState, tf.slice(y.lastHiddenState, [0, 0, 0], [-1, T, -1]), x.pooled, y.pooled];
      }),
    );
    expect(a.shape).toEqual([3, T, ckpt.config.hiddenSize]);
    expect(tf.memory().numTensors - before).toBe(4);
    const diff = async (u: tf.Tensor, v: tf.Tensor) => (await tf.max(tf.abs(tf.sub(u, v))).data())[0];
    expect(await diff(a, b)).toBeLessThan(1e-6);
    expect(await diff(pa, pb)).toBeLessThan(1e-6);
    // The gate really reads the padded tail: without the fixed length the layer would have refused T = 20.
    expect(ext.fixedSeqLen).toBe(fx.max_seq_len);
    tf.dispose([a, b, pa, pb, padded.inputIds, padded.tokenTypeIds, padded.attentionMask]);
    disposeInput(short);
    ext.dispose();
  });

  it('the PAL constructor rejects pal_heads that do not divide hidden_size_aug', () => {
    const cfg = { ...variantConfig(ckpt.config, 'pals'), palHeads: 5 };
    expect(() => new ProjectedAttentionLayers(cfg, { from: 'random', seed: 0 })).toThrow('PALs: pal_heads (5) must divide hidden_size_aug (12)');
  });
});

describe('Gated-BERT training phases', () => {
  const names = [
    'embeddings.word_embeddings.weight',
    'encoder.layer.0.attention.self.query.weight',
    'encoder.layer.1.attention.self.value.bias',
    'encoder.layer.1.attention.output.dense.weight',
    'embert.layer.0.task_emb_q',
    'gated.task_emb_q1',
    'gated.gate_q.weight',
    'gated.gate_k.bias',
    'gated.task.0.query_down.weight',
    'gated.task.1.query_up.bias',
    'gated.task.1.value.weight',
    'gated.task.2.key_down.weight',
    'gated.task.12.value.bias',
    'heads.CoLA.classifier.weight',
  ];
  it("epoch < 20: gates and other tasks' adapters frozen", () => {
    expect(gatedTrainableNames(19, 1, names)).toEqual([
      'embeddings.word_embeddings.weight',
      'encoder.layer.0.attention.self.query.weight',
      'encoder.layer.1.attention.self.value.bias',
      'encoder.layer.1.attention.output.dense.weight',
      'embert.layer.0.task_emb_q',
      'gated.task_emb_q1',
      'gated.task.1.query_up.bias',
      'gated.task.1.value.weight',
      'heads.CoLA.classifier.weight',
    ]);
  });
  it('20 ≤ epoch < 40: gates trainable', () => {
    expect(gatedTrainableNames(20, 2, names)).toEqual([
      'embeddings.word_embeddings.weight',
      'encoder.layer.0.attention.self.query.weight',
      'encoder.layer.1.attention.self.value.bias',
      'encoder.layer.1.attention.output.dense.weight',
      'embert.layer.0.task_emb_q',
      'gated.task_emb_q1',
      'gated.gate_q.weight',
      'gated.gate_k.bias',
      'gated.task.2.key_down.weight',
      'heads.CoLA.classifier.weight',
    ]);
  });
  it('epoch ≥ 40: shared self-attention Q/K/V of every layer frozen (not the attention output)', () => {
    expect(gatedTrainableNames(40, 12, names)).toEqual([
      'embeddings.word_embeddings.weight',
      'encoder.layer.1.attention.output.dense.weight',
      'embert.layer.0.task_emb_q',
      'gated.task_emb_q1',
      'gated.gate_q.weight',
      'gated.gate_k.bias',
      'gated.task.12.value.bias',
      'heads.CoLA.classifier.weight',
    ]);
    expect(() => gatedTrainableNames(-1, 0, names)).toThrow('gatedTrainableNames: epoch must be a non-negative integer, got -1');
  });
});
