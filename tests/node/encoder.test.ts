import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { FIXTURE_NAMES, fixtureModelDir, loadFixture } from '../helpers/shared.ts';
import { maxAbsDiff } from '../helpers/compare.ts';
import { NODE_TEST_BACKENDS, useBackend } from '../helpers/nodeBackends.ts';
import { dirSource } from '../../src/engine/platform/node/nodeSource.ts';
import { loadBertCheckpoint } from '../../src/engine/checkpoint/hfFolder.ts';
import { BertEncoder } from '../../src/engine/model/bertEncoder.ts';
import { ClassificationHead } from '../../src/engine/model/heads/classificationHead.ts';
import { RegressionHead } from '../../src/engine/model/heads/regressionHead.ts';
import { fixtureBatch } from '../helpers/fixtureBatch.ts';

const TOL = 1e-4; // absolute, against the float64 reference (issue 3)

const batchOf = (examples: any[]) => fixtureBatch(examples);

for (const backend of NODE_TEST_BACKENDS) {
  for (const name of FIXTURE_NAMES) {
    describe(`BertEncoder vs float64 reference: ${name} on ${backend}`, () => {
      const fx = loadFixture(name);
      let model: BertEncoder;
      let cls: ClassificationHead;
      let reg: RegressionHead;
      beforeAll(async () => {
        await useBackend(backend);
        const ckpt = await loadBertCheckpoint(dirSource(fixtureModelDir(name)));
        model = BertEncoder.fromCheckpoint(ckpt);
        cls = new ClassificationHead('cls', fx.config.hidden_size, fx.classification_head.n_classes, 0, fx.classification_head);
        reg = new RegressionHead('reg', fx.config.hidden_size, 0, fx.regression_head);
      });
      afterAll(() => {
        model?.dispose();
        cls?.dispose();
        reg?.dispose();
      });

      it('hidden states, attentions, pooled output and head logits match every example within 1e-4', () => {
        const out = tf.tidy(() => {
          const inp = batchOf(fx.examples);
          const r = model.forward(inp, { outputHiddenStates: true, outputAttentions: true });
          const feats = { pooled: r.pooled, sequence: r.lastHiddenState, tokenTypeIds: inp.tokenTypeIds, attentionMask: inp.attentionMask };
          return {
            hidden: tf.stack(r.hiddenStates!, 1).arraySync() as number[][][][],
            attn: tf.stack(r.attentions!, 1).arraySync() as number[][][][][],
            pooled: r.pooled.arraySync() as number[][],
            logits: cls.forward(feats, { training: false }).arraySync() as number[][],
            score: reg.forward(feats, { training: false }).arraySync() as number[],
          };
        });
        const worst = { hidden: 0, attn: 0, pooled: 0, logits: 0, score: 0 };
        fx.examples.forEach((e: any, i: number) => {
          worst.hidden = Math.max(worst.hidden, maxAbsDiff(out.hidden[i], e.hidden_states));
          worst.attn = Math.max(worst.attn, maxAbsDiff(out.attn[i], e.attentions));
          worst.pooled = Math.max(worst.pooled, maxAbsDiff(out.pooled[i], e.pooled));
          worst.logits = Math.max(worst.logits, maxAbsDiff(out.logits[i], e.classification_logits));
          worst.score = Math.max(worst.score, Math.abs(out.score[i] - e.regression_output));
        });
        for (const [k, v] of Object.entries(worst)) expect(v, `${k} max abs diff`).toBeLessThan(TOL);
      });

      it('applies a head mask [L, A] like the reference (zeroed and half-weighted heads)', () => {
        const hm = fx.head_mask_forward;
        const out = tf.tidy(() => {
          const inp = batchOf(fx.examples);
          const r = model.forward(inp, { headMask: tf.tensor2d(hm.head_mask), outputHiddenStates: true, outputAttentions: true });
          const feats = { pooled: r.pooled, sequence: r.lastHiddenState, tokenTypeIds: inp.tokenTypeIds, attentionMask: inp.attentionMask };
          return {
            pooled: r.pooled.arraySync(),
            logits: cls.forward(feats, { training: false }).arraySync(),
            h0: r.hiddenStates!.map((h) => (h.arraySync() as number[][][])[0]),
            a0: r.attentions!.map((a) => (a.arraySync() as number[][][][])[0]),
          };
        });
        expect(maxAbsDiff(out.pooled, hm.pooled)).toBeLessThan(TOL);
        expect(maxAbsDiff(out.logits, hm.classification_logits)).toBeLessThan(TOL);
        expect(maxAbsDiff(out.h0, hm.example0_hidden_states)).toBeLessThan(TOL);
        expect(maxAbsDiff(out.a0, hm.example0_attentions)).toBeLessThan(TOL);
        // A masked head's probabilities are exactly zero.
        const zeroed = hm.head_mask.flatMap((row: number[], l: number) => row.map((m, h) => [m, l, h])).filter(([m]: number[]) => m === 0);
        for (const [, l, h] of zeroed) expect(Math.max(...out.a0[l][h].flat().map(Math.abs))).toBe(0);
      });

      it('rejects a head mask of the wrong shape, naming both shapes', () => {
        const L = fx.config.num_hidden_layers,
          A = fx.config.num_attention_heads;
        expect(() =>
          tf.tidy(() => {
            model.forward(batchOf(fx.examples.slice(0, 1)), { headMask: tf.ones([L + 1, A]) as tf.Tensor2D });
          }),
        ).toThrow(`BertEncoder: head mask has shape [${L + 1},${A}], expected [${L}, ${A}]`);
      });

      it('keeps tf.memory().numTensors flat over 100 encoder calls', () => {
        const inp = batchOf(fx.examples.slice(0, 4));
        const run = () =>
          tf.tidy(() => {
            model.forward(inp, { outputAttentions: true, outputHiddenStates: true }).pooled.dataSync();
          });
        run();
        const before = tf.memory().numTensors;
        for (let i = 0; i < 100; i++) run();
        expect(tf.memory().numTensors).toBe(before);
        tf.dispose([inp.inputIds, inp.tokenTypeIds, inp.attentionMask]);
      });
    });
  }
}
