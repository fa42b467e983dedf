import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { createVariantExtension } from '../../src/engine/model/variants/createVariantExtension.ts';
import { taskIdOfParam } from '../../src/engine/model/variants/extensionParams.ts';
import { gatedTrainableNames } from '../../src/engine/model/variants/gatedAttention.ts';
import {
  EXTENSION_VARIANTS,
  NUM_TASKS,
  SHORT,
  TASK,
  batchOf,
  ckpt,
  disposeInput,
  encoder,
  fx,
  rng,
  useVariantEncoder,
  variantConfig,
  withExtension,
} from '../helpers/variantEncoder.ts';

/* Model variants (docs/methods.md §5.1, §5.3, §5.4) on the random-tiny encoder: see tests/helpers/variantEncoder.ts. */
useVariantEncoder();

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
