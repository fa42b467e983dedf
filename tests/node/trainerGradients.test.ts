import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { fixtureModelDir, loadFixture, repoRoot, sharedDir } from '../helpers/shared.ts';
import { NODE_TEST_BACKENDS, useBackend } from '../helpers/nodeBackends.ts';
import { dirSource } from '../../src/engine/platform/node/nodeSource.ts';
import { loadBertCheckpoint } from '../../src/engine/checkpoint/hfFolder.ts';
import { BertEncoder } from '../../src/engine/model/bertEncoder.ts';
import type { Batch } from '../../src/engine/data/batchReader.ts';
import { MultiTaskModel } from '../../src/engine/model/multiTaskModel.ts';
import { batchToTensors, disposeBatch } from '../../src/engine/train/batchTensors.ts';
import { accumulateGradients, microBatchGradients } from '../../src/engine/train/trainStep.ts';
import type { TaskSpec } from '../../src/engine/model/taskSpec.ts';
import { Rng } from '../../src/engine/runtime/rng.ts';

/*
 * Analytic gradients of the trainer's micro-batch step (tfjs float32, cpu and wasm: their attention and dense
 * gradients run different kernels) against float64 central finite differences of the same loss computed by
 * the float64 reference refbert (tests/fixtures/README.md; numpy, step h = 1e-5: truncation error
 * O(h²) ≈ 1e-10 and round-off ≈ 1e-16/h ≈ 1e-11, so the reference is exact to ~1e-9 at these magnitudes).
 * Loss = CE(classification batch) + MSE(regression batch) on the random-tiny fixture (dropout 0), so every
 * encoder tensor gets gradient from both heads and each head from its own batch. Coordinates per tensor:
 * its largest |g|, a random non-zero one and a uniformly random one (embedding rows of unused ids must be 0).
 * Tolerance: |g_tf − g_fd| ≤ 2e-5·max|g_fd over the tensor| + 1e-7. float32 backprop through 2 layers and
 * LayerNorm (ε 1e-12) loses ~1e-7 relative per op (measured worst: 4.5e-7 of the tensor's scale); 2e-5 leaves
 * ~40× headroom for cancellation in sums over B·T positions, while a wrong formula shows errors of O(1).
 */

const fx = loadFixture('random-tiny');
const REFBERT = resolve(sharedDir, 'tools/refbert');

const CLS: TaskSpec = { name: 'CLS', type: 'classification', numLabels: fx.classification_head.n_classes, metrics: ['acc'], dropout: 0 };
const REG: TaskSpec = { name: 'REG', type: 'regression', numLabels: 1, metrics: ['pearson'], dropout: 0 };

function fixtureBatch(task: string, labels: number[]): { batch: Batch; json: Record<string, unknown> } {
  const ids: string[] = fx.minibatch.example_ids;
  const ex = ids.map((id) => fx.examples.find((e: any) => e.id === id));
  const T = Math.max(...ex.map((e: any) => e.n_tokens));
  const cut = (k: string) => ex.map((e: any) => e[k].slice(0, T) as number[]);
  const flat = (rows: number[][]) => Int32Array.from(rows.flat());
  const batch: Batch = {
    task,
    split: 'train',
    inputIds: flat(cut('input_ids')),
    tokenTypeIds: flat(cut('token_type_ids')),
    attentionMask: flat(cut('attention_mask')),
    labels: Float32Array.from(labels),
    uids: ids,
    batchSize: ids.length,
    seqLen: T,
  };
  return { batch, json: { input_ids: cut('input_ids'), token_type_ids: cut('token_type_ids'), attention_mask: cut('attention_mask'), labels } };
}

for (const backend of NODE_TEST_BACKENDS) {
  describe(`trainer gradients vs float64 finite differences (random-tiny fixture, ${backend})`, () => {
    let model: MultiTaskModel;
    beforeAll(async () => {
      await useBackend(backend);
      const ckpt = await loadBertCheckpoint(dirSource(fixtureModelDir('random-tiny')));
      const snap = (task: string, kind: 'classification' | 'regression', layer: string, h: any, n: number) => ({
        snapshot: { kind, task, numLabels: n, dropout: 0, layers: { [layer]: { W: h.W, b: h.b } } },
      });
      model = MultiTaskModel.create(
        BertEncoder.fromCheckpoint(ckpt),
        [
          { spec: CLS, init: snap('CLS', 'classification', 'classifier', fx.classification_head, CLS.numLabels) },
          { spec: REG, init: snap('REG', 'regression', 'regressor', fx.regression_head, 1) },
        ],
        0,
      );
    });
    afterAll(() => model?.dispose());

    it('every parameter of the encoder, a classification head and a regression head matches', () => {
      const cls = fixtureBatch('CLS', fx.minibatch.classification.labels);
      const reg = fixtureBatch('REG', fx.minibatch.regression.labels);
      const acc = new Map<string, tf.Tensor>();
      let loss = 0;
      for (const [spec, b] of [
        [CLS, cls.batch],
        [REG, reg.batch],
      ] as const) {
        const t = batchToTensors(b, spec.type, spec.numLabels);
        const r = microBatchGradients(model, spec.name, t, { seed: 1, weight: 1, scale: 1 });
        loss += r.taskLoss.dataSync()[0];
        tf.dispose([r.taskLoss, r.totalLoss]);
        accumulateGradients(acc, r.grads);
        disposeBatch(t);
      }
      const vars = model.namedVariables();
      expect([...acc.keys()].sort()).toEqual([...vars.keys()].sort());

      // Analytic gradients in HF [out, in] layout (encoder dense kernels and head kernels are stored transposed).
      const transposed = new Set(model.encoder.bindings.filter((b) => b.transposed).map((b) => b.hfName));
      const hf = new Map<string, { shape: number[]; data: Float32Array }>();
      for (const [name, g] of acc) {
        const tr = transposed.has(name) || (name.startsWith('heads.') && name.endsWith('.weight'));
        const t = tr ? tf.transpose(g) : g;
        hf.set(name, { shape: t.shape, data: t.dataSync() as Float32Array });
        if (tr) t.dispose();
        g.dispose();
      }
      const rng = new Rng(7);
      const coords: Record<string, number[]> = {};
      for (const [name, { data }] of hf) {
        let top = 0;
        for (let i = 1; i < data.length; i++) if (Math.abs(data[i]) > Math.abs(data[top])) top = i;
        const nonZero = [...data.keys()].filter((i) => data[i] !== 0 && i !== top);
        coords[name] = [top, ...rng.sample(nonZero, Math.min(1, nonZero.length)), rng.int(data.length)];
      }
      const heads = {
        CLS: { kind: 'classification', ...fx.classification_head },
        REG: { kind: 'regression', ...fx.regression_head },
      };
      const out = execFileSync('python3', [resolve(repoRoot, 'tests/helpers/refbertGrads.py')], {
        input: JSON.stringify({
          refbert: REFBERT,
          model_dir: fixtureModelDir('random-tiny'),
          heads,
          batches: { CLS: cls.json, REG: reg.json },
          coords,
          step: 1e-5,
        }),
        maxBuffer: 1 << 26,
      }).toString();
      const ref = JSON.parse(out) as { loss: number; grads: Record<string, number[]> };
      expect(Math.abs(loss - ref.loss)).toBeLessThan(1e-5);

      let checked = 0;
      let worstRel = 0;
      const failures: string[] = [];
      for (const [name, idxs] of Object.entries(coords)) {
        const fd = ref.grads[name];
        const scale = Math.max(...fd.map(Math.abs));
        idxs.forEach((i, k) => {
          const a = hf.get(name)!.data[i];
          const tol = 2e-5 * scale + 1e-7;
          const err = Math.abs(a - fd[k]);
          // Tensors whose true gradient is 0 (attention key biases: softmax ignores a shift shared by all keys) have no scale.
          if (scale > 1e-8) worstRel = Math.max(worstRel, err / scale);
          if (!(err <= tol)) failures.push(`${name}[${i}]: analytic ${a}, fd ${fd[k]}, |diff| ${err.toExponential(2)} > ${tol.toExponential(2)}`);
          checked++;
        });
      }
      console.log(
        `gradient check: ${Object.keys(coords).length} tensors, ${checked} coordinates, worst |diff| / max|g_fd| ${worstRel.toExponential(2)} (tensors with a gradient)`,
      );
      expect(failures).toEqual([]);
      expect(Object.keys(coords).length).toBe(vars.size);
    });
  });
}
