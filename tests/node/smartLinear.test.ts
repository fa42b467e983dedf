import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../helpers/nodeBackends.ts';
import { normalizeGradient, smartAdversarialLoss } from '../../src/engine/train/smart.ts';

/*
 * SMART's normalisation and perturbation (docs/methods.md §1.14, §7.17) on hand-built linear "models" whose
 * perturbation can be worked out on paper.
 */

beforeAll(async () => {
  await useBackend('cpu');
});

describe('SMART normalisation', () => {
  it("'inf' divides each hidden vector by its max |g| + ε (hand-checked)", async () => {
    const g = tf.tensor3d([
      [
        [3, -4, 1],
        [0.5, 0.25, -1],
      ],
    ]);
    const out = (await normalizeGradient(g, 'inf', 1e-6).array()) as number[][][];
    // [3, -4, 1] / (4 + 1e-6) and [0.5, 0.25, -1] / (1 + 1e-6)
    const want = [
      [
        [3 / 4.000001, -4 / 4.000001, 1 / 4.000001],
        [0.5 / 1.000001, 0.25 / 1.000001, -1 / 1.000001],
      ],
    ];
    out[0].forEach((row, i) => row.forEach((x, j) => expect(x).toBeCloseTo(want[0][i][j], 7)));
    expect(out[0][0][1]).toBeCloseTo(-0.99999975, 7);
    // l2: [3, -4, 1] / (√26 + ε); l1: sign.
    const l2 = (await normalizeGradient(g, 'l2', 0).array()) as number[][][];
    expect(l2[0][0][0]).toBeCloseTo(3 / Math.sqrt(26), 6);
    expect(await normalizeGradient(g, 'l1', 0).array()).toEqual([
      [
        [1, -1, 1],
        [1, 1, -1],
      ],
    ]);
    g.dispose();
  });

  it('regression on a linear model: adv_loss = (η · w·w / max|w|)², whatever the noise', async () => {
    // f(e + δ) = Σ_h (e + δ)_h w_h per row. Inner MSE gradient: g = 2(δ₀·w) w / B, so ĝ ≈ sign(δ₀·w) w / max|w|
    // and the final perturbation p = η ĝ. adv_loss = mean_i (p_i·w)² = (η w·w / max|w|)².
    const w = tf.tensor1d([3, -4]);
    const e = tf.tensor3d([[[0.5, 1]], [[-1, 2]]]); // B 2, T 1, H 2
    const f = (delta: tf.Tensor) => tf.sum(tf.mul(tf.add(e, delta), w), [1, 2]);
    const eta = 0.1;
    const [loss, pert] = tf.tidy(() => {
      const r = smartAdversarialLoss(
        {
          forward: (d) => f(d),
          logits: f(tf.zerosLike(e)),
          embedding: e,
          attentionMask: tf.ones([2, 1]) as tf.Tensor2D,
          taskType: 'regression',
          seed: 5,
        },
        { noiseVar: 0.3, stepSize: eta, epsilon: 1e-6 },
      );
      return [r.advLoss, r.perturbation];
    });
    const expected = ((eta * 25) / 4) ** 2; // 0.390625
    expect((await loss.data())[0]).toBeCloseTo(expected, 5);
    const p = (await pert.array()) as number[][][];
    for (const row of p) {
      const s = Math.sign(row[0][0]);
      expect(row[0][0]).toBeCloseTo((s * eta * 3) / 4, 5);
      expect(row[0][1]).toBeCloseTo(-s * eta, 5);
    }
    tf.dispose([w, e, loss, pert]);
  });

  it('classification on a linear model: the perturbation is η · normalised ∂stableKL/∂δ₀ (float64 finite differences)', async () => {
    // logits = (e + δ) W summed over T; the reference differentiates Σ p·(rp − ry)·2/B with rp, ry held fixed
    // (both are detached in MT-DNN's stable KL) by central differences in float64.
    const W = [
      [0.7, -1.2, 0.4],
      [1.5, 0.3, -0.8],
    ]; // H 2 → C 3
    const E = [
      [
        [0.2, -0.4],
        [1.0, 0.5],
      ],
      [
        [-0.6, 0.9],
        [0.1, 0.1],
      ],
    ]; // B 2, T 2, H 2
    const noiseVar = 0.5;
    const eta = 0.2;
    const eps = 1e-6;
    const Wt = tf.tensor2d(W);
    const e = tf.tensor3d(E);
    const f = (d: tf.Tensor) => tf.matMul(tf.sum(tf.add(e, d), 1), Wt);
    const out = tf.tidy(() => {
      const r = smartAdversarialLoss(
        {
          forward: (d) => f(d),
          logits: f(tf.zerosLike(e)),
          embedding: e as tf.Tensor3D,
          attentionMask: tf.ones([2, 2]) as tf.Tensor2D,
          taskType: 'classification',
          seed: 11,
        },
        { noiseVar, stepSize: eta, epsilon: eps },
      );
      return [r.perturbation];
    });
    const pert = (await out[0].array()) as number[][][];
    // Recover δ₀ the same way the implementation draws it, to evaluate the reference at the same point.
    const noise = tf.tidy(() => {
      let captured: tf.Tensor | null = null;
      smartAdversarialLoss(
        {
          forward: (d) => {
            if (!captured) captured = tf.keep(d.clone());
            return f(d);
          },
          logits: f(tf.zerosLike(e)),
          embedding: e as tf.Tensor3D,
          attentionMask: tf.ones([2, 2]) as tf.Tensor2D,
          taskType: 'classification',
          seed: 11,
        },
        { noiseVar, stepSize: eta, epsilon: eps },
      );
      return captured!;
    });
    const d0 = (await noise.array()) as number[][][];
    noise.dispose();
    expect(Math.abs(d0[0][0][0])).toBeGreaterThan(1e-3); // the noise really is N(0, 0.5²)-sized

    const logitsOf = (d: number[][][]) =>
      d.map((row, b) => [0, 1, 2].map((c) => row.reduce((s, _, t) => s + (E[b][t][0] + d[b][t][0]) * W[0][c] + (E[b][t][1] + d[b][t][1]) * W[1][c], 0)));
    const softmax = (z: number[]) => {
      const m = Math.max(...z);
      const x = z.map((v) => Math.exp(v - m));
      const s = x.reduce((a, b) => a + b, 0);
      return x.map((v) => v / s);
    };
    const rlogit = (p: number) => -Math.log(1 / (p + eps) - 1 + eps);
    const zero = E.map((r) => r.map(() => [0, 0]));
    const y = logitsOf(zero).map(softmax);
    const p0 = logitsOf(d0).map(softmax);
    const K = p0.map((row, b) => row.map((p, c) => rlogit(p) - rlogit(y[b][c])));
    const inner = (d: number[][][]) =>
      (logitsOf(d)
        .map(softmax)
        .reduce((s, row, b) => s + row.reduce((t, p, c) => t + p * K[b][c], 0), 0) *
        2) /
      2;
    const h = 1e-6;
    const g = d0.map((row, b) =>
      row.map((v, t) =>
        v.map((_, k) => {
          const plus = d0.map((r) => r.map((x) => [...x]));
          const minus = d0.map((r) => r.map((x) => [...x]));
          plus[b][t][k] += h;
          minus[b][t][k] -= h;
          return (inner(plus) - inner(minus)) / (2 * h);
        }),
      ),
    );
    const want = g.map((row) =>
      row.map((v) => {
        const m = Math.max(...v.map(Math.abs));
        return v.map((x) => (eta * x) / (m + eps));
      }),
    );
    let maxErr = 0;
    pert.forEach((row, b) =>
      row.forEach((v, t) =>
        v.forEach((x, k) => {
          maxErr = Math.max(maxErr, Math.abs(x - want[b][t][k]));
        }),
      ),
    );
    expect(maxErr).toBeLessThan(2e-4 * eta);
    // Each hidden vector's largest entry is ±η (the inf-norm normalisation), up to ε.
    for (const row of pert) for (const v of row) expect(Math.max(...v.map(Math.abs))).toBeCloseTo(eta, 4);
    tf.dispose([Wt, e, out[0]]);
  });
});
