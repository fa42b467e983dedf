import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Command } from 'commander';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixtureModelDir } from '../helpers/shared.ts';
import { useBackend } from '../helpers/nodeBackends.ts';
import { parseBertConfig } from '../../src/engine/checkpoint/bertConfig.ts';
import { loadBertCheckpoint } from '../../src/engine/checkpoint/hfFolder.ts';
import { dirSource, writeFolder } from '../../src/engine/platform/node/nodeSource.ts';
import { parseSafetensors } from '../../src/engine/checkpoint/safetensors.ts';
import type { BertConfig, NamedTensor } from '../../src/engine/checkpoint/types.ts';
import { memoryFileProvider } from '../../src/engine/data/fileProvider.ts';
import { TsvSource } from '../../src/engine/data/tsvSource.ts';
import { BertEncoder } from '../../src/engine/model/bertEncoder.ts';
import { MaskedLmHead, MLM_TENSOR_NAMES } from '../../src/engine/model/heads/maskedLmHead.ts';
import { packSentences, readGlueText, type PackedSequence } from '../../src/engine/pretrain/corpus.ts';
import { maskBatch, maskingVocab } from '../../src/engine/pretrain/masking.ts';
import { parsePretrainState, pretrainCheckpointFiles, STATE_FILE, OPTIMIZER_FILE } from '../../src/engine/pretrain/pretrainCheckpoint.ts';
import { MlmPretrainer, NonFiniteLossError } from '../../src/engine/pretrain/pretrainMlm.ts';
import { Rng } from '../../src/engine/runtime/rng.ts';
import { registerPretrainCommand } from '../../src/cli/commands/pretrain.ts';
import { BertTokenizer } from '../../src/engine/tokenizer/bertTokenizer.ts';

const TINY = fixtureModelDir('random-tiny');
const vocabText = readFileSync(join(TINY, 'vocab.txt'), 'utf8');
const tokenizer = BertTokenizer.fromVocabText(vocabText, { doLowerCase: true });
const vocab = maskingVocab(tokenizer.vocab.tokens, tokenizer);
const tinyConfig = (overrides: Record<string, unknown> = {}): BertConfig =>
  parseBertConfig(JSON.stringify({ ...JSON.parse(readFileSync(join(TINY, 'config.json'), 'utf8')), initializer_range: 0.02, ...overrides }));

/** Sequences of random non-special tokens, `[CLS] a [SEP] b [SEP]` shaped. */
function syntheticSequences(n: number, rng: Rng, minLen = 8, maxLen = 24): PackedSequence[] {
  return Array.from({ length: n }, () => {
    const len = minLen + rng.int(maxLen - minLen + 1);
    const cut = 2 + rng.int(len - 4);
    const ids = new Int32Array(len);
    const typeIds = new Int32Array(len);
    for (let t = 0; t < len; t++) ids[t] = vocab.randomIds[rng.int(vocab.randomIds.length)];
    ids[0] = tokenizer.clsId;
    ids[cut] = tokenizer.sepId;
    ids[len - 1] = tokenizer.sepId;
    typeIds.fill(1, cut + 1);
    return { ids, typeIds };
  });
}

// wasm: the 200-step loop takes ~14 s there and ~90 s on tfjs's cpu backend (both run on the CPU).
beforeAll(async () => {
  await useBackend('wasm');
});

describe('maskingVocab', () => {
  it('draws replacements from the 195 tokens of the tiny vocab that are not bracketed specials', () => {
    // random-tiny: 200 lines = [PAD] [UNK] [CLS] [SEP] [MASK] … [unused0]…[unused4]; 200 − 5 − 5 = 190.
    expect(vocab.randomIds.length).toBe(190);
    const tokens = [...vocab.randomIds].map((i) => tokenizer.vocab.tokens[i]);
    expect(tokens.some((t) => /^\[.*\]$/.test(t))).toBe(false);
    expect(tokens).toContain('['); // punctuation is an ordinary token
    expect([...vocab.specialIds].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4]);
  });
});

describe('BERT masking (15 %, 80/10/10)', () => {
  const B = 4000;
  const T = 40;
  const rng = new Rng(11);
  const ids = new Int32Array(B * T);
  const mask = new Int32Array(B * T);
  let candidates = 0;
  for (let b = 0; b < B; b++) {
    const len = 5 + rng.int(T - 4); // 5..40 real tokens
    for (let t = 0; t < len; t++) {
      const i = b * T + t;
      mask[i] = 1;
      // Specials sprinkled in: [CLS] first, [SEP] last, some [UNK].
      ids[i] =
        t === 0 ? tokenizer.clsId : t === len - 1 ? tokenizer.sepId : rng.uniform() < 0.05 ? tokenizer.unkId : vocab.randomIds[rng.int(vocab.randomIds.length)];
      if (!vocab.specialIds.has(ids[i])) candidates++;
    }
    // padding keeps id 0 ([PAD]) and mask 0
  }
  const m = maskBatch(ids, mask, B, T, vocab, new Rng(5));

  it('chooses 15 % ± 1 % of the candidate tokens, at least one per sequence, never specials or padding', () => {
    expect(Math.abs(m.positions.length / candidates - 0.15)).toBeLessThan(0.01);
    const perRow = new Int32Array(B);
    for (const i of m.positions) {
      perRow[Math.floor(i / T)]++;
      expect(mask[i]).toBe(1);
      expect(vocab.specialIds.has(ids[i])).toBe(false);
    }
    expect(Math.min(...perRow)).toBeGreaterThanOrEqual(1);
    for (let i = 0; i < B * T; i++) {
      if (m.labels[i] !== -1) expect(m.labels[i]).toBe(ids[i]);
    }
    expect(m.labels.filter((l) => l !== -1).length).toBe(m.positions.length);
    expect([...m.targets]).toEqual([...m.positions].map((i) => ids[i]));
  });

  it('replaces 80 % ± 2 % with [MASK], 10 % ± 2 % with a random non-special token, leaves 10 % ± 2 % unchanged', () => {
    let masked = 0;
    let random = 0;
    let same = 0;
    for (const i of m.positions) {
      if (m.inputIds[i] === tokenizer.maskId) masked++;
      else if (m.inputIds[i] === ids[i]) same++;
      else {
        random++;
        expect(vocab.specialIds.has(m.inputIds[i])).toBe(false);
        expect(tokenizer.vocab.tokens[m.inputIds[i]]).not.toMatch(/^\[.*\]$/);
      }
    }
    const n = m.positions.length;
    expect(Math.abs(masked / n - 0.8)).toBeLessThan(0.02);
    // A random draw equal to the original (1 in 190) counts as unchanged.
    expect(Math.abs(random / n - 0.1)).toBeLessThan(0.02);
    expect(Math.abs(same / n - 0.1)).toBeLessThan(0.02);
    // Positions not chosen are untouched.
    let changedElsewhere = 0;
    for (let i = 0; i < B * T; i++) if (m.labels[i] === -1 && m.inputIds[i] !== ids[i]) changedElsewhere++;
    expect(changedElsewhere).toBe(0);
  });

  it('is deterministic for a seed and differs between seeds', () => {
    const again = maskBatch(ids, mask, B, T, vocab, new Rng(5));
    expect(again.inputIds).toEqual(m.inputIds);
    expect(again.positions).toEqual(m.positions);
    const other = maskBatch(ids, mask, B, T, vocab, new Rng(6));
    expect(other.positions).not.toEqual(m.positions);
  });

  it('rejects inputs of the wrong size', () => {
    expect(() => maskBatch(ids.subarray(0, 10), mask, B, T, vocab, new Rng(1))).toThrow(
      'masking: expected 4000·40 = 160000 ids and mask values, got 10 and 160000',
    );
  });
});

describe('corpus', () => {
  it("reads every split's text once (deduplicated, labels ignored) from a GLUE layout", async () => {
    const source = new TsvSource(
      memoryFileProvider({
        'CoLA/train.tsv': 'gj04\t1\t\tThe cat sat.\ngj04\t0\t*\tCat the sat.\n',
        'CoLA/dev.tsv': 'gj04\t1\t\tThe cat sat.\n',
        'RTE/dev.tsv': 'index\tsentence1\tsentence2\tlabel\n0\tA dog runs.\tThe cat sat.\tentailment\n',
        'RTE/test.tsv': 'index\tsentence1\tsentence2\n0\tA dog runs.\tIt rains.\n',
      }),
    );
    const text = await readGlueText(source);
    expect(text.texts).toEqual(['The cat sat.', 'Cat the sat.', 'A dog runs.', 'It rains.']);
    expect(text.perSplit).toEqual({ 'CoLA/train': 2, 'CoLA/dev': 1, 'RTE/dev': 1, 'RTE/test': 1 });
    await expect(readGlueText(new TsvSource(memoryFileProvider({ 'RTE/README': 'x' })))).rejects.toThrow('no GLUE task folder found');
  });

  it('packs consecutive sentences into [CLS] A [SEP] B [SEP] of at most maxLength, in order', () => {
    const sentences = Array.from({ length: 40 }, (_, s) => Array.from({ length: 1 + (s % 7) }, (_, j) => 100 + ((s * 7 + j) % 90)));
    const packed = packSentences(sentences, { maxLength: 16, clsId: 2, sepId: 3 }, new Rng(3));
    let rebuilt: number[] = [];
    for (const p of packed) {
      expect(p.ids.length).toBeLessThanOrEqual(16);
      expect(p.ids[0]).toBe(2);
      expect(p.ids[p.ids.length - 1]).toBe(3);
      const seps = [...p.ids].flatMap((x, i) => (x === 3 ? [i] : []));
      expect(seps.length === 1 || seps.length === 2).toBe(true);
      // types: 0 through the first [SEP], 1 after it
      expect([...p.typeIds]).toEqual([...p.ids].map((_, i) => (i <= seps[0] ? 0 : 1)));
      rebuilt = rebuilt.concat([...p.ids].filter((x) => x !== 2 && x !== 3));
    }
    // Only truncation drops tokens: the content is a subsequence of the text, starting at the start.
    const all = sentences.flat();
    expect(rebuilt.slice(0, 5)).toEqual(all.slice(0, 5));
    let k = 0;
    for (const x of rebuilt) {
      while (k < all.length && all[k] !== x) k++;
      expect(k).toBeLessThan(all.length);
      k++;
    }
    expect(rebuilt.length).toBeGreaterThan(0.7 * all.length);
  });
});

describe('MaskedLmHead', () => {
  it('loss and logits equal a direct float64 computation (gather → dense → gelu → LayerNorm → ·Eᵀ + b)', () => {
    const config = tinyConfig();
    const H = config.hiddenSize;
    const V = config.vocabSize;
    const rng = new Rng(21);
    const arr = (n: number, s = 0.3) => Float32Array.from({ length: n }, () => rng.normal(0, s));
    const named = (name: string, shape: number[], data: Float32Array): [string, NamedTensor] => [name, { name, shape, dtype: 'F32', data }];
    const init = new Map([
      named(MLM_TENSOR_NAMES.denseWeight, [H, H], arr(H * H)),
      named(MLM_TENSOR_NAMES.denseBias, [H], arr(H)),
      named(
        MLM_TENSOR_NAMES.normWeight,
        [H],
        arr(H).map((x) => 1 + x),
      ),
      named(MLM_TENSOR_NAMES.normBias, [H], arr(H)),
      named(MLM_TENSOR_NAMES.bias, [V], arr(V)),
    ]);
    const E = arr(V * H, 0.5);
    const emb = tf.variable(tf.tensor2d(E, [V, H]));
    const head = new MaskedLmHead(config, emb, init);
    const B = 2,
      T = 5;
    const seq = arr(B * T * H, 1);
    const positions = [1, 3, 7, 8];
    const targets = [5, 17, 199, 42];
    const [logits, loss] = tf.tidy(() => {
      const l = head.logitsAt(tf.tensor3d(seq, [B, T, H]), tf.tensor1d(positions, 'int32'));
      return [l.arraySync(), head.loss(l, tf.tensor1d(targets, 'int32')).arraySync()];
    }) as [number[][], number];

    const W = init.get(MLM_TENSOR_NAMES.denseWeight)!.data; // [out, in]
    const bd = init.get(MLM_TENSOR_NAMES.denseBias)!.data;
    const g = init.get(MLM_TENSOR_NAMES.normWeight)!.data;
    const be = init.get(MLM_TENSOR_NAMES.normBias)!.data;
    const bo = init.get(MLM_TENSOR_NAMES.bias)!.data;
    const erf = (x: number) => {
      // Abramowitz–Stegun 7.1.26, |error| < 1.5e-7
      const s = Math.sign(x);
      const a = Math.abs(x);
      const t = 1 / (1 + 0.3275911 * a);
      return s * (1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-a * a));
    };
    let lossRef = 0;
    let worst = 0;
    positions.forEach((p, r) => {
      const x = Array.from(seq.subarray(p * H, (p + 1) * H));
      const d = Array.from({ length: H }, (_, o) => bd[o] + x.reduce((s, xi, i) => s + W[o * H + i] * xi, 0));
      const a = d.map((v) => 0.5 * v * (1 + erf(v / Math.SQRT2)));
      const mean = a.reduce((s, v) => s + v, 0) / H;
      const variance = a.reduce((s, v) => s + (v - mean) ** 2, 0) / H;
      const h = a.map((v, i) => ((v - mean) / Math.sqrt(variance + config.layerNormEps)) * g[i] + be[i]);
      const z = Array.from({ length: V }, (_, v) => bo[v] + h.reduce((s, hi, i) => s + hi * E[v * H + i], 0));
      z.forEach((zi, v) => (worst = Math.max(worst, Math.abs(zi - logits[r][v]))));
      const mx = Math.max(...z);
      const lse = mx + Math.log(z.reduce((s, zi) => s + Math.exp(zi - mx), 0));
      lossRef += (lse - z[targets[r]]) / positions.length;
    });
    expect(worst).toBeLessThan(1e-4);
    expect(Math.abs(loss - lossRef)).toBeLessThan(1e-5 * Math.max(1, lossRef));
    expect(lossRef).toBeGreaterThan(1); // not a degenerate case
    head.dispose();
    emb.dispose();
  });

  it('rejects a checkpoint head of the wrong shape, naming the tensor', () => {
    const config = tinyConfig();
    const emb = tf.variable(tf.zeros([config.vocabSize, config.hiddenSize]));
    const bad = new Map([
      [MLM_TENSOR_NAMES.denseWeight, { name: MLM_TENSOR_NAMES.denseWeight, shape: [3, 3], dtype: 'F32' as const, data: new Float32Array(9) }],
    ]);
    expect(() => new MaskedLmHead(config, emb, bad)).toThrow(
      'checkpoint: tensor cls.predictions.transform.dense.weight has shape [3,3], expected [32,32] from config.json',
    );
    emb.dispose();
  });
});

describe('masked-LM pretraining loop', () => {
  const made: { dispose(): void }[] = [];
  afterAll(() => made.forEach((m) => m.dispose()));
  const build = (
    config: BertConfig,
    seqs: PackedSequence[],
    opts: Partial<ConstructorParameters<typeof MlmPretrainer>[5]> = {},
    init?: { encoder: BertEncoder; head: MaskedLmHead },
  ) => {
    const encoder = init?.encoder ?? BertEncoder.random(config, 3);
    const head = init?.head ?? new MaskedLmHead(config, encoder.params.wordEmbeddings, { seed: 4 });
    const trainer = new MlmPretrainer(encoder, head, seqs, vocab, tokenizer.padId, { steps: 200, batchSize: 8, lr: 1e-2, warmup: 0.05, seed: 9, ...opts });
    made.push(trainer, head, encoder);
    return { encoder, head, trainer };
  };

  it('overfits 8 sequences (loss 5.3 → below 1.0 in 200 steps) with tf.memory().numTensors flat', async () => {
    const config = tinyConfig();
    const seqs = syntheticSequences(8, new Rng(1), 16, 24);
    const { trainer } = build(config, seqs);
    const counts: number[] = [];
    const losses: number[] = [];
    for (let s = 0; s < 200; s++) {
      const ev = await trainer.trainStep();
      losses.push(ev.loss);
      counts.push(tf.memory().numTensors);
      expect(ev.step).toBe(s + 1);
    }
    // Uniform prediction over 200 tokens: ln 200 = 5.30.
    expect(Math.abs(losses[0] - Math.log(200))).toBeLessThan(0.3);
    const last = losses.slice(-20).reduce((a, b) => a + b, 0) / 20;
    expect(last).toBeLessThan(1.0);
    // Optimizer slots appear on the first step; after that nothing accumulates.
    expect(new Set(counts.slice(1)).size).toBe(1);
    const heldIn = await trainer.evaluate(seqs);
    expect(heldIn.accuracy).toBeGreaterThan(0.7); // chance: 1 in 190
  }, 120_000);

  it('export → load gives the same MLM logits; the folder has BertForPreTraining names and resume state', async () => {
    const config = tinyConfig();
    const seqs = syntheticSequences(16, new Rng(2));
    const { encoder, head, trainer } = build(config, seqs, { steps: 10 });
    for (let s = 0; s < 3; s++) await trainer.trainStep();
    const files = pretrainCheckpointFiles({ config, vocabText, doLowerCase: true, encoder, head, state: await trainer.getState() });
    const dir = mkdtempSync(join(tmpdir(), 'mlm-export-'));
    try {
      await writeFolder(dir, files);
      const st = parseSafetensors(new Uint8Array(readFileSync(join(dir, 'model.safetensors'))));
      const names = st.tensors.map((t) => t.name);
      expect(names).toContain('bert.embeddings.word_embeddings.weight');
      expect(names).toContain('cls.predictions.transform.dense.weight');
      expect(names).toContain('cls.predictions.transform.LayerNorm.weight');
      expect(names).toContain('cls.predictions.bias');
      expect(names.filter((n) => n.startsWith('cls.')).sort()).toEqual(Object.values(MLM_TENSOR_NAMES).sort());
      expect(st.metadata).toEqual({ format: 'pt', taskscope_step: '3' });

      const ckpt = await loadBertCheckpoint(dirSource(dir));
      const enc2 = BertEncoder.fromCheckpoint(ckpt);
      const head2 = new MaskedLmHead(ckpt.config, enc2.params.wordEmbeddings, ckpt.extraTensors!);
      made.push(head2, enc2);
      const logitsOf = (e: BertEncoder, h: MaskedLmHead) =>
        tf.tidy(() => {
          const inp = {
            inputIds: tf.tensor2d([[2, 50, 4, 60, 3]], undefined, 'int32'),
            tokenTypeIds: tf.zeros([1, 5], 'int32') as tf.Tensor2D,
            attentionMask: tf.ones([1, 5], 'int32') as tf.Tensor2D,
          };
          return h.logitsAt(e.forward(inp).lastHiddenState, tf.tensor1d([1, 2, 3], 'int32')).arraySync();
        });
      expect(logitsOf(enc2, head2)).toEqual(logitsOf(encoder, head));

      const state = parsePretrainState(
        readFileSync(join(dir, STATE_FILE), 'utf8'),
        new Uint8Array(readFileSync(join(dir, OPTIMIZER_FILE))),
        ckpt.safetensorsMetadata?.taskscope_step,
        dir,
      );
      expect(state.step).toBe(3);
      expect(() => parsePretrainState(readFileSync(join(dir, STATE_FILE), 'utf8'), new Uint8Array(readFileSync(join(dir, OPTIMIZER_FILE))), '2', dir)).toThrow(
        `${dir}: the checkpoint files disagree on the step (pretrain_state.json 3, optimizer.safetensors 3, model.safetensors 2); it was written only partly`,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a run stopped at step 3 and resumed from its checkpoint equals the uninterrupted run at step 6 (dropout on)', async () => {
    const config = tinyConfig({ hidden_dropout_prob: 0.1, attention_probs_dropout_prob: 0.1 });
    const seqs = syntheticSequences(12, new Rng(3));
    const straight = build(config, seqs, { steps: 6 });
    for (let s = 0; s < 6; s++) await straight.trainer.trainStep();

    const first = build(config, seqs, { steps: 6 });
    for (let s = 0; s < 3; s++) await first.trainer.trainStep();
    const files = pretrainCheckpointFiles({
      config,
      vocabText,
      doLowerCase: true,
      encoder: first.encoder,
      head: first.head,
      state: await first.trainer.getState(),
    });
    const dir = mkdtempSync(join(tmpdir(), 'mlm-resume-'));
    try {
      await writeFolder(dir, files);
      const ckpt = await loadBertCheckpoint(dirSource(dir));
      const encoder = BertEncoder.fromCheckpoint(ckpt);
      const head = new MaskedLmHead(ckpt.config, encoder.params.wordEmbeddings, ckpt.extraTensors!);
      const resumed = build(ckpt.config, seqs, { steps: 6 }, { encoder, head });
      resumed.trainer.setState(
        parsePretrainState(
          readFileSync(join(dir, STATE_FILE), 'utf8'),
          new Uint8Array(readFileSync(join(dir, OPTIMIZER_FILE))),
          ckpt.safetensorsMetadata?.taskscope_step,
          dir,
        ),
      );
      for (let s = 0; s < 3; s++) await resumed.trainer.trainStep();
      expect(resumed.trainer.step).toBe(6);
      const a = [...straight.encoder.namedVariables(), ...straight.head.namedVariables()];
      const b = new Map([...encoder.namedVariables(), ...head.namedVariables()]);
      let worst = 0;
      let moved = 0;
      for (const [name, v] of a) {
        const x = v.dataSync();
        const y = b.get(name)!.dataSync();
        for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(x[i] - y[i]));
      }
      for (const [name, v] of first.encoder.namedVariables()) {
        if (name.startsWith('pooler')) continue; // no MLM gradient reaches the pooler
        const x = v.dataSync();
        const y = b.get(name)!.dataSync();
        if (x.some((xi, i) => xi !== y[i])) moved++;
      }
      expect(worst).toBe(0);
      expect(moved).toBeGreaterThan(10); // the last 3 steps changed the weights
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a NaN loss stops the step with a clear error before any update', async () => {
    const config = tinyConfig();
    const seqs = syntheticSequences(8, new Rng(4));
    const { encoder, trainer } = build(config, seqs, { steps: 5 });
    await trainer.trainStep();
    const w = encoder.params.layers[0].query.kernel;
    w.assign(tf.fill(w.shape, Number.NaN));
    const before = encoder.params.wordEmbeddings.dataSync().slice();
    await expect(trainer.trainStep()).rejects.toThrow(NonFiniteLossError);
    await expect(trainer.trainStep()).rejects.toThrow(/^masked-LM loss is NaN at step 1 \(lr /);
    expect(trainer.step).toBe(1);
    expect(encoder.params.wordEmbeddings.dataSync()).toEqual(before);
  });
});

describe('taskscope pretrain (CLI)', () => {
  /** A tiny GLUE folder (80 CoLA sentences) and a `taskscope pretrain` runner writing to `<root>/<dir>`. */
  function cliRoot() {
    const root = mkdtempSync(join(tmpdir(), 'mlm-cli-'));
    const words = ['the', 'cat', 'sat', 'on', 'mat', 'dog', 'is', 'not', 'good', 'bad', 'very', 'movie', 'it', 'was', 'fun', 'boring'];
    const rng = new Rng(8);
    const lines = Array.from({ length: 80 }, (_, i) => `src\t1\t\t${Array.from({ length: 4 + (i % 5) }, () => words[rng.int(words.length)]).join(' ')} ${i}.`);
    mkdirSync(join(root, 'glue', 'CoLA'), { recursive: true });
    writeFileSync(join(root, 'glue', 'CoLA', 'train.tsv'), `${lines.join('\n')}\n`);
    const cli = async (dir: string, ...args: string[]) => {
      const program = new Command('taskscope').exitOverride();
      registerPretrainCommand(program);
      let stdout = '';
      const write = process.stdout.write.bind(process.stdout);
      process.stdout.write = ((chunk: string) => ((stdout += chunk), true)) as typeof process.stdout.write;
      try {
        await program.parseAsync(['node', 'taskscope', 'pretrain', '--glue', join(root, 'glue'), '--out', join(root, dir), ...args]);
      } finally {
        process.stdout.write = write;
      }
      return stdout;
    };
    return { root, cli };
  }
  const small = [
    '--layers',
    '1',
    '--hidden',
    '32',
    '--heads',
    '2',
    '--intermediate',
    '64',
    '--max-len',
    '16',
    '--batch-size',
    '4',
    '--held-out',
    '3',
    '--save-every',
    '2',
  ];
  const readLog = (file: string) =>
    readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));

  it('trains, checkpoints, logs JSONL, reports held-out loss, and resumes', async () => {
    const { root, cli: cliIn } = cliRoot();
    const out = join(root, 'run');
    const cli = (...args: string[]) => cliIn('run', ...args);
    try {
      const stdout = await cli('--vocab', TINY, ...small, '--steps', '4', '--lr', '1e-3');
      expect(stdout).toMatch(/^held-out MLM loss \d+\.\d{4}, accuracy \d+\.\d{2} % on \d+ masked tokens of 3 sequences; checkpoint in /);
      const log = readLog(join(out, 'log.jsonl'));
      const steps = log.filter((l) => l.type === 'step');
      expect(steps.map((s) => s.step)).toEqual([1, 2, 3, 4]);
      for (const s of steps) for (const k of ['loss', 'lr', 'tokensPerSec', 'etaSeconds']) expect(Number.isFinite(s[k]), k).toBe(true);
      expect(log.filter((l) => l.type === 'eval').length).toBe(2);
      expect(JSON.parse(readFileSync(join(out, 'pretrain_state.json'), 'utf8')).step).toBe(4);

      await cli('--resume', '--steps', '6');
      const log2 = readLog(join(out, 'log.jsonl'));
      expect(log2.filter((l) => l.type === 'start').map((l) => l.resumedAt)).toEqual([null, 4]);
      expect(log2.filter((l) => l.type === 'step').map((l) => l.step)).toEqual([1, 2, 3, 4, 5, 6]);
      await expect(cli('--resume', '--steps', '8', '--lr', '0.1')).rejects.toThrow(`--resume: the run in ${out} used --lr 1e-3, not 0.1`);
      const ckpt = await loadBertCheckpoint(dirSource(out));
      expect(ckpt.config.hiddenSize).toBe(32);
      expect([...ckpt.extraTensors!.keys()].filter((k) => k.startsWith('cls.')).length).toBe(5);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('--stop-at k keeps the schedule of --steps: stopped at 3 and resumed to 6 equals the uninterrupted 6-step run', async () => {
    const { root, cli } = cliRoot();
    try {
      const args = ['--vocab', TINY, ...small, '--steps', '6', '--lr', '1e-3', '--warmup', '0.5'];
      await cli('whole', ...args);
      await cli('stopped', ...args, '--stop-at', '3');
      expect(JSON.parse(readFileSync(join(root, 'stopped', 'pretrain_state.json'), 'utf8')).step).toBe(3);
      const end = readLog(join(root, 'stopped', 'log.jsonl')).filter((l) => l.type === 'end');
      expect(end.map((l) => [l.step, l.stoppedEarly])).toEqual([[3, true]]);
      await expect(cli('stopped', '--resume', '--steps', '6', '--stop-at', '2')).rejects.toThrow(
        `--stop-at 2: the run in ${join(root, 'stopped')} is already at step 3`,
      );
      await expect(cli('other', ...args, '--stop-at', '7')).rejects.toThrow('--stop-at 7 is beyond --steps 6');
      await cli('stopped', '--resume', '--steps', '6');

      // The learning rates of steps 1–6 are those of one 6-step schedule (warmup 3, then linear decay).
      const lrs = (dir: string) =>
        readLog(join(root, dir, 'log.jsonl'))
          .filter((l) => l.type === 'step')
          .map((l) => l.lr);
      expect(lrs('stopped')).toEqual(lrs('whole'));
      const [a, b] = await Promise.all([loadBertCheckpoint(dirSource(join(root, 'whole'))), loadBertCheckpoint(dirSource(join(root, 'stopped')))]);
      expect([...b.tensors.keys()]).toEqual([...a.tensors.keys()]);
      let worst = 0;
      for (const [name, t] of a.tensors) {
        const u = b.tensors.get(name)!.data as Float32Array;
        (t.data as Float32Array).forEach((x, i) => {
          worst = Math.max(worst, Math.abs(x - u[i]));
        });
      }
      expect(worst).toBeLessThanOrEqual(1e-6);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
