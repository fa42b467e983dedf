import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { fixtureModelDir, loadFixture } from '../helpers/shared.ts';
import { maxAbsDiff } from '../helpers/compare.ts';
import { useBackend } from '../helpers/nodeBackends.ts';
import { dirSource } from '../../src/engine/platform/node/nodeSource.ts';
import { loadBertCheckpoint } from '../../src/engine/checkpoint/hfFolder.ts';
import type { BertCheckpoint, BertConfig, NamedTensor } from '../../src/engine/checkpoint/types.ts';
import { BertEncoder, type EncoderInput } from '../../src/engine/model/bertEncoder.ts';
import {
  parseVariantConfig,
  parseVariantOptions,
  serializeVariantConfig,
  type VariantConfig,
  type VariantName,
} from '../../src/engine/model/variants/variantConfig.ts';
import { createVariantExtension } from '../../src/engine/model/variants/createVariantExtension.ts';
import { taskIdOfParam } from '../../src/engine/model/variants/extensionParams.ts';
import type { VariantExtension } from '../../src/engine/model/variants/variantExtension.ts';
import { gatedTrainableNames } from '../../src/engine/model/variants/gatedAttention.ts';
import { ProjectedAttentionLayers } from '../../src/engine/model/variants/projectedAttentionLayers.ts';
import { bertParameterCount, variantParameterCounts } from '../../src/engine/model/variants/parameterCounts.ts';

/*
 * Model variants on the shared encoder (docs/methods.md §5.1, §5.3, §5.4), on the cpu backend with the random-tiny fixture
 * (H 32, L 2, A 4, seq 32, initializer_range 0.2, dropout 0). Small variant sizes keep it fast: T = 3 tasks,
 * hidden_size_aug 12, 6 PAL heads of 2 dims.
 */

const fx = loadFixture('random-tiny');
const EXTENSION_VARIANTS = ['embert', 'gated', 'pals'] as const;
const NUM_TASKS = 3;
const TASK = 1; // a task id ≠ 0, so slicing the right row/adapter is exercised

/** The fixture examples as a batch; `seqLen` keeps only the first tokens (shorter sequences keep the cpu tests fast). */
function batchOf(examples: any[], seqLen = fx.max_seq_len): EncoderInput {
  const cut = (row: number[]) => row.slice(0, seqLen);
  return {
    inputIds: tf.tensor2d(
      examples.map((e) => cut(e.input_ids)),
      undefined,
      'int32',
    ),
    tokenTypeIds: tf.tensor2d(
      examples.map((e) => cut(e.token_type_ids)),
      undefined,
      'int32',
    ),
    attentionMask: tf.tensor2d(
      examples.map((e) => cut(e.attention_mask)),
      undefined,
      'int32',
    ),
  };
}
const SHORT = 12; // sequence length of the gradient and memory checks (Gated-BERT's gated_seq_len follows it)
const disposeInput = (x: EncoderInput) => tf.dispose([x.inputIds, x.tokenTypeIds, x.attentionMask]);

/** Mulberry32: a seeded PRNG for coordinates and probe vectors. */
function rng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

let ckpt: BertCheckpoint;
let encoder: BertEncoder;

function variantConfig(bert: BertConfig, variant: VariantName, extra: Record<string, unknown> = {}): VariantConfig {
  const raw = { variant, num_tasks: NUM_TASKS, hidden_size_aug: 12, pal_heads: 6, gated_seq_len: fx.max_seq_len, ...extra };
  return { bert, ...parseVariantOptions(raw, bert) };
}

function withExtension<T>(ext: VariantExtension | null, f: () => T): T {
  encoder.extension = ext;
  try {
    return f();
  } finally {
    encoder.extension = null;
  }
}

beforeAll(async () => {
  await useBackend('cpu');
  ckpt = await loadBertCheckpoint(dirSource(fixtureModelDir('random-tiny')));
  encoder = BertEncoder.fromCheckpoint(ckpt);
});
afterAll(() => {
  encoder.extension = null;
  encoder?.dispose();
});

describe('variant config (seed config shape, valibot)', () => {
  const bertBase = {
    attention_probs_dropout_prob: 0.1,
    hidden_act: 'gelu',
    hidden_dropout_prob: 0.1,
    hidden_size: 768,
    initializer_range: 0.02,
    intermediate_size: 3072,
    max_position_embeddings: 512,
    num_attention_heads: 12,
    num_hidden_layers: 12,
    type_vocab_size: 2,
    vocab_size: 30522,
  };

  it('reads the seed embert_config.json (num_tasks set at runtime) as EmBERT with the seed defaults', () => {
    const c = parseVariantConfig(JSON.stringify({ ...bertBase, our_attn: true }), { numTasks: 8 });
    expect(c).toMatchObject({
      variant: 'embert',
      numTasks: 8,
      hiddenSizeAug: 204,
      palHeads: 6,
      palSharedProjections: true,
      gatedSeqLen: 128,
      gatedTaskScale: 'scalar',
    });
    expect(c.bert.hiddenSize).toBe(768);
  });

  it('reads pals_config.json (pals + mult) as PALs, and needs "variant" to pick Gated-BERT', () => {
    expect(parseVariantConfig(JSON.stringify({ ...bertBase, hidden_size_aug: 204, mult: true, pals: true, num_tasks: 8 })).variant).toBe('pals');
    expect(parseVariantConfig(JSON.stringify({ ...bertBase, variant: 'gated', our_attn: true, num_tasks: 8 })).variant).toBe('gated');
    expect(parseVariantConfig(JSON.stringify({ ...bertBase, num_tasks: 8 })).variant).toBe('mtdnn');
  });

  it('round-trips through serializeVariantConfig', () => {
    const c = parseVariantConfig(
      JSON.stringify({ ...bertBase, variant: 'pals', num_tasks: 4, hidden_size_aug: 48, pal_heads: 4, pal_shared_projections: false }),
    );
    const back = parseVariantConfig(serializeVariantConfig(c));
    const { raw: _r1, ...b1 } = c.bert;
    const { raw: _r2, ...b2 } = back.bert;
    expect({ ...back, bert: b2 }).toEqual({ ...c, bert: b1 });
    expect(JSON.parse(serializeVariantConfig(c))).toMatchObject({ pals: true, mult: true, our_attn: false, hidden_size_aug: 48 });
  });

  it('lets small models set hidden_size_aug and rejects a PAL head count that does not divide it', () => {
    const tiny = { ...bertBase, hidden_size: 128, num_hidden_layers: 2, num_attention_heads: 2, intermediate_size: 512 };
    expect(parseVariantConfig(JSON.stringify({ ...tiny, variant: 'pals', num_tasks: 8, hidden_size_aug: 24 })).hiddenSizeAug).toBe(24);
    expect(() => parseVariantConfig(JSON.stringify({ ...tiny, variant: 'pals', num_tasks: 8, hidden_size_aug: 100 }))).toThrow(
      'variant_config.json: field "pal_heads" (6) must divide hidden_size_aug (100): each PAL head gets hidden_size_aug / pal_heads dimensions (e.g. hidden_size_aug 24 or 48 with 6 heads for small models)',
    );
  });

  it('names the field in every error', () => {
    const parse = (extra: Record<string, unknown>) => () => parseVariantConfig(JSON.stringify({ ...bertBase, num_tasks: 8, ...extra }));
    expect(parse({ hidden_size_aug: 0 })).toThrow('variant_config.json: field "hidden_size_aug" must be a positive integer, got 0');
    expect(parse({ variant: 'lora' })).toThrow('variant_config.json: field "variant" must be one of "mtdnn", "embert", "gated", "pals", got "lora"');
    expect(parse({ variant: 'gated', our_attn: false })).toThrow('variant_config.json: field "our_attn" is false, but variant "gated" needs true');
    expect(parse({ mult: true })).toThrow('variant_config.json: fields "pals" (false) and "mult" (true) must both be true for PALs');
    expect(parse({ houlsby: true })).toThrow('variant_config.json: field "houlsby" is true, but that seed configuration is not implemented');
    expect(parse({ variant: 'gated', gated_seq_len: 1024 })).toThrow('variant_config.json: field "gated_seq_len" (1024) exceeds max_position_embeddings (512)');
    expect(parse({ pal_shared_projections: 'yes' })).toThrow('variant_config.json: field "pal_shared_projections" must be true or false, got "yes"');
    expect(() => parseVariantConfig(JSON.stringify({ ...bertBase, our_attn: true }))).toThrow(
      'variant_config.json: missing required field "num_tasks" (the seeds set it at runtime: pass numTasks)',
    );
  });
});

describe('parameter counts from the config alone', () => {
  const base = { vocabSize: 30522, hiddenSize: 768, numHiddenLayers: 12, intermediateSize: 3072, maxPositionEmbeddings: 512, typeVocabSize: 2 };
  const opts = (variant: VariantName) => ({
    variant,
    numTasks: 8,
    hiddenSizeAug: 204,
    palHeads: 6,
    palSharedProjections: true,
    gatedSeqLen: 128,
    gatedTaskScale: 'scalar' as const,
  });

  it('BERT-base: 109,482,240 encoder parameters; EmBERT adds 3·768·12 = 27,648 per task', () => {
    expect(bertParameterCount(base)).toBe(109_482_240); // HF BertModel bert-base-uncased
    const e = variantParameterCounts(base, opts('embert'));
    expect(e.perTask).toBe(27_648);
    expect(e.extensionShared).toBe(0);
    expect(e.total).toBe(109_482_240 + 8 * 27_648);
    expect(variantParameterCounts(base, opts('mtdnn')).total).toBe(109_482_240);
  });

  it('BERT-base PALs (r 204, shared V^E/V^D) and Gated-BERT (r 204, seq 128), counted by hand', () => {
    // PALs per task: V^E 768·204+204 = 156,876; V^D 204·768+768 = 157,440; 12 layers × 3·(204²+204) = 1,505,520.
    expect(variantParameterCounts(base, opts('pals')).perTask).toBe(156_876 + 157_440 + 1_505_520);
    // Gated per task: EmBERT on 11 layers 25,344; Q and K low-rank 2 × (156,876 + 157,440); V 768²+768 = 590,592; 5 scalars.
    const g = variantParameterCounts(base, opts('gated'));
    expect(g.perTask).toBe(25_344 + 2 * 314_316 + 590_592 + 5);
    // Gates: 2 × (768·128·8 + 8).
    expect(g.extensionShared).toBe(2 * (768 * 128 * 8 + 8));
  });

  const allocCases: [VariantName, Record<string, unknown>][] = [
    ['embert', {}],
    ['gated', {}],
    ['gated', { gated_task_scale: 'hidden' }],
    ['pals', {}],
    ['pals', { pal_shared_projections: false }],
  ];
  for (const [variant, extra] of allocCases) {
    it(`matches the allocated variables: ${variant} ${JSON.stringify(extra)}`, () => {
      const cfg = variantConfig(ckpt.config, variant, extra);
      const ext = createVariantExtension(cfg, { from: 'random', seed: 1 })!;
      let shared = 0;
      const perTask = new Array<number>(NUM_TASKS).fill(0);
      for (const [name, v] of ext.namedVariables()) {
        const task = taskIdOfParam(name);
        // EmBERT/Gated task-embedding tables [T, w]: each task owns one row.
        if (/task_emb_/.test(name)) for (let i = 0; i < NUM_TASKS; i++) perTask[i] += v.size / NUM_TASKS;
        else if (task === null) shared += v.size;
        else perTask[task] += v.size;
      }
      const counts = variantParameterCounts(cfg.bert, cfg);
      expect(shared).toBe(counts.extensionShared);
      expect(perTask).toEqual(new Array(NUM_TASKS).fill(counts.perTask));
      expect(bertParameterCount(cfg.bert)).toBe([...encoder.namedVariables().values()].reduce((a, v) => a + v.size, 0));
      ext.dispose();
    });
  }
});

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

/*
 * Gradient check: analytic tf.variableGrads of f = Σ pooled ⊙ R₁ + Σ lastHidden ⊙ R₂ (fixed random R) against
 * float32 central differences (f(θ+h) − f(θ−h)) / 2h on the cpu backend, with f summed in float64 in JS from the
 * float32 outputs.
 *  - h = 1e-2: parameters are O(0.2) (initializer_range 0.2), so the O(h²) truncation error is ~1e-3 relative;
 *    the float32 forward's rounding noise (~1e-6 absolute in f) becomes ~5e-5 in the quotient.
 *  - accepted when |analytic − fd| ≤ 2e-2·|fd| + 2e-4: the relative part covers truncation, the absolute part
 *    the rounding noise. Each tensor must also show a non-trivial gradient somewhere (so the check can fail).
 */
describe('gradients: analytic vs central finite differences (cpu, float32)', () => {
  const H_STEP = 1e-2;
  const REL_TOL = 2e-2;
  const ABS_TOL = 2e-4;
  const COORDS_PER_TENSOR = 3;
  /*
   * Terms that add the same vector to every key of an example (EmBERT's E^K row, a key bias, Gated-BERT's key
   * adapter biases, which reach K as constants) shift each query's scores by one constant, which softmax ignores:
   * their true gradient is 0, and float32 leaves ~1e-7. They are checked to be ~0 instead of non-trivial.
   */
  const SHIFT_INVARIANT = /task_emb_k$|attn\.key\.bias$|key_(down|up)\.bias$/;

  for (const variant of EXTENSION_VARIANTS) {
    it(`${variant}: task ${TASK}'s parameters match finite differences; other tasks get none`, () => {
      const cfg = variantConfig(ckpt.config, variant, { gated_seq_len: SHORT });
      const ext = createVariantExtension(cfg, { from: 'random', seed: 3 })!;
      const [B, S, H] = [2, SHORT, ckpt.config.hiddenSize];
      const input = batchOf(fx.examples.slice(0, B), S);
      const rand = rng(42);
      const r1 = Float64Array.from({ length: B * H }, () => rand() * 2 - 1);
      const r2 = Float64Array.from({ length: B * S * H }, () => (rand() * 2 - 1) / 8);
      const R1 = tf.tensor2d(Float32Array.from(r1), [B, H]);
      const R2 = tf.tensor3d(Float32Array.from(r2), [B, S, H]);

      encoder.extension = ext;
      try {
        const named = ext.namedVariables();
        const byTfName = new Map([...named].map(([n, v]) => [v.name, n]));
        const gradOf = new Map<string, Float32Array>();
        tf.tidy(() => {
          const { grads } = tf.variableGrads(() => {
            const r = encoder.forward(input, { taskId: TASK });
            return tf.add(tf.sum(tf.mul(r.pooled, R1)), tf.sum(tf.mul(r.lastHiddenState, R2))) as tf.Scalar;
          }, [...named.values()]);
          for (const [tfName, t] of Object.entries(grads)) gradOf.set(byTfName.get(tfName)!, t.dataSync().slice() as Float32Array);
        });

        const f = () =>
          tf.tidy(() => {
            const r = encoder.forward(input, { taskId: TASK });
            const p = r.pooled.dataSync();
            const l = r.lastHiddenState.dataSync();
            let s = 0;
            for (let k = 0; k < p.length; k++) s += p[k] * r1[k];
            for (let k = 0; k < l.length; k++) s += l[k] * r2[k];
            return s;
          });

        let checked = 0;
        let worst = 0;
        const fdSizes: number[] = [];
        for (const [name, v] of named) {
          const task = taskIdOfParam(name);
          const g = gradOf.get(name);
          const isTable = /task_emb_/.test(name); // [T, w] tables: task i owns row i
          const otherTask = task !== null && task !== TASK;
          if (otherTask) {
            // Gated's mixture reaches other tasks' Q/K adapters (the seed freezes them: gatedTrainableNames).
            const viaGate = variant === 'gated' && /\.(query|key)_(down|up)\./.test(name);
            if (viaGate) expect(gatedTrainableNames(20, TASK, [name])).toEqual([]);
            else expect(g === undefined || g.every((x) => x === 0), `${name} gets a gradient while training task ${TASK}`).toBe(true);
            continue;
          }
          expect(g, `${name} has no gradient`).toBeDefined();
          const values = v.dataSync().slice() as Float32Array;
          let coords: number[];
          if (isTable) {
            const w = v.shape[1]!;
            for (let t = 0; t < NUM_TASKS; t++) {
              const rowMax = Math.max(...g!.slice(t * w, (t + 1) * w).map(Math.abs));
              if (t === TASK) {
                if (!SHIFT_INVARIANT.test(name)) expect(rowMax, `${name} row ${t}`).toBeGreaterThan(1e-4);
              } else expect(rowMax, `${name} row ${t} (another task)`).toBe(0);
            }
            coords = Array.from({ length: Math.min(COORDS_PER_TENSOR, w) }, () => TASK * w + Math.floor(rand() * w));
          } else {
            coords = Array.from({ length: COORDS_PER_TENSOR }, () => Math.floor(rand() * values.length));
          }
          let tensorMax = 0;
          for (const k of coords) {
            const probe = (delta: number) => {
              const moved = values.slice();
              moved[k] += delta;
              tf.tidy(() => v.assign(tf.tensor(moved, v.shape)));
              return f();
            };
            const fd = (probe(H_STEP) - probe(-H_STEP)) / (2 * H_STEP);
            tf.tidy(() => v.assign(tf.tensor(values, v.shape)));
            const err = Math.abs(g![k] - fd);
            expect(err, `${name}[${k}]: analytic ${g![k]} vs finite difference ${fd}`).toBeLessThanOrEqual(REL_TOL * Math.abs(fd) + ABS_TOL);
            worst = Math.max(worst, err / (REL_TOL * Math.abs(fd) + ABS_TOL));
            tensorMax = Math.max(tensorMax, Math.abs(fd));
            fdSizes.push(Math.abs(fd));
            checked++;
          }
          const gMax = Math.max(...g!.map(Math.abs));
          if (SHIFT_INVARIANT.test(name)) expect(gMax, `${name}: a constant shift of every key cannot change the softmax`).toBeLessThan(1e-5);
          else expect(Math.max(tensorMax, gMax), `${name}: gradient is trivially zero`).toBeGreaterThan(1e-4);
        }
        expect(checked).toBeGreaterThan(5);
        console.log(
          `${variant}: ${checked} coordinates checked, worst error / tolerance = ${worst.toFixed(3)}, median |fd| = ${fdSizes.sort((a, b) => a - b)[fdSizes.length >> 1].toExponential(2)}`,
        );
      } finally {
        encoder.extension = null;
        tf.dispose([R1, R2]);
        disposeInput(input);
        ext.dispose();
      }
    });
  }
});

describe('memory', () => {
  for (const variant of EXTENSION_VARIANTS) {
    it(`${variant}: tf.memory().numTensors is flat over 50 forward+backward calls`, () => {
      const ext = createVariantExtension(variantConfig(ckpt.config, variant, { gated_seq_len: SHORT }), { from: 'random', seed: 5 })!;
      const input = batchOf(fx.examples.slice(0, 1), SHORT);
      const vars = [...ext.namedVariables().values()];
      const step = (i: number) =>
        tf.tidy(() => {
          const { value, grads } = tf.variableGrads(() => tf.sum(encoder.forward(input, { taskId: i % NUM_TASKS }).pooled) as tf.Scalar, vars);
          value.dataSync();
          tf.dispose(grads);
        });
      withExtension(ext, () => {
        step(0);
        const before = tf.memory().numTensors;
        for (let i = 0; i < 50; i++) step(i);
        expect(tf.memory().numTensors).toBe(before);
      });
      disposeInput(input);
      ext.dispose();
    });
  }
});
