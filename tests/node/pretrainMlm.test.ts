import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { useBackend } from '../helpers/nodeBackends.ts';
import { loadBertCheckpoint } from '../../src/engine/checkpoint/hfFolder.ts';
import { dirSource, writeFolder } from '../../src/engine/platform/node/nodeSource.ts';
import { parseSafetensors } from '../../src/engine/checkpoint/safetensors.ts';
import type { BertConfig, NamedTensor } from '../../src/engine/checkpoint/types.ts';
import { BertEncoder } from '../../src/engine/model/bertEncoder.ts';
import { MaskedLmHead, MLM_TENSOR_NAMES } from '../../src/engine/model/heads/maskedLmHead.ts';
import { type PackedSequence } from '../../src/engine/pretrain/corpus.ts';
import { parsePretrainState, pretrainCheckpointFiles, STATE_FILE, OPTIMIZER_FILE } from '../../src/engine/pretrain/pretrainCheckpoint.ts';
import { MlmPretrainer, NonFiniteLossError } from '../../src/engine/pretrain/pretrainMlm.ts';
import { Rng } from '../../src/engine/runtime/rng.ts';
import { syntheticSequences, tinyConfig, tokenizer, vocab, vocabText } from '../helpers/pretrainTiny.ts';

// wasm: the 200-step loop takes ~14 s there and ~90 s on tfjs's cpu backend (both run on the CPU).
beforeAll(async () => {
  await useBackend('wasm');
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
