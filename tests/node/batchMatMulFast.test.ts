import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { NODE_TEST_BACKENDS, useBackend } from '../helpers/nodeBackends.ts';
import { FAST_BATCH_MATMUL, batchMatMul, batchMatMulForward } from '../../src/engine/model/kernels/batchMatMulFast.ts';

const maxDiff = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);

for (const backend of NODE_TEST_BACKENDS) {
  describe(`batchMatMul (per-head fast path) on ${backend}`, () => {
    beforeAll(() => useBackend(backend));
    afterAll(() => useBackend('cpu'));

    // Shapes of attention (q·kᵀ, probs·v) and a ragged one where m, k and n all differ.
    for (const [N, m, k, n] of [
      [6, 16, 8, 16],
      [6, 16, 16, 8],
      [3, 5, 7, 11],
    ]) {
      it(`[${N}, ${m}, ${k}]·[${N}, ${k}, ${n}] equals tf.matMul within 1e-5, and so does its gradient`, () => {
        const a = tf.randomNormal([N, m, k], 0, 1, 'float32', 1) as tf.Tensor3D;
        const b = tf.randomNormal([N, k, n], 0, 1, 'float32', 2) as tf.Tensor3D;
        const w = tf.randomNormal([N, m, n], 0, 1, 'float32', 3);
        const loss = (f: (x: tf.Tensor3D, y: tf.Tensor3D) => tf.Tensor) => (x: tf.Tensor, y: tf.Tensor) =>
          tf.sum(tf.mul(f(x as tf.Tensor3D, y as tf.Tensor3D), w));
        const ours = batchMatMul(a, b);
        const ref = tf.matMul(a, b);
        expect(ours.shape).toEqual([N, m, n]);
        expect(maxDiff(ours, ref)).toBeLessThan(1e-5);
        const [da, db] = tf.grads(loss(batchMatMul))([a, b]);
        const [ra, rb] = tf.grads(loss((x, y) => tf.matMul(x, y)))([a, b]);
        expect(maxDiff(da, ra)).toBeLessThan(1e-5);
        expect(maxDiff(db, rb)).toBeLessThan(1e-5);
        tf.dispose([a, b, w, ours, ref, da, db, ra, rb]);
      });
    }

    it(backend === 'wasm' ? `runs as the registered ${FAST_BATCH_MATMUL} kernel` : "runs tfjs's own BatchMatMul", async () => {
      const a = tf.ones([2, 3, 4]) as tf.Tensor3D;
      const b = tf.ones([2, 4, 5]) as tf.Tensor3D;
      const prof = await tf.profile(() => batchMatMulForward(a, b));
      expect(prof.kernels.map((x) => x.name)).toEqual([backend === 'wasm' ? FAST_BATCH_MATMUL : 'BatchMatMul']);
      expect((prof.result as tf.Tensor).dataSync()[0]).toBe(4);
      tf.dispose([a, b, prof.result as tf.Tensor]);
    });

    it('keeps tf.memory().numTensors flat over 20 forward + backward calls', () => {
      const a = tf.randomNormal([4, 8, 6]) as tf.Tensor3D;
      const b = tf.randomNormal([4, 6, 8]) as tf.Tensor3D;
      const g = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(batchMatMul(x as tf.Tensor3D, y as tf.Tensor3D)));
      tf.dispose(g([a, b]));
      const before = tf.memory().numTensors;
      for (let i = 0; i < 20; i++) tf.dispose(g([a, b]));
      expect(tf.memory().numTensors).toBe(before);
      tf.dispose([a, b]);
    });
  });
}

describe('batchMatMul shape errors (wasm kernel)', () => {
  beforeAll(() => useBackend('wasm'));
  afterAll(() => useBackend('cpu'));
  it('names both shapes when the batch or inner sizes differ', () => {
    const a = tf.ones([2, 3, 4]) as tf.Tensor3D;
    const b = tf.ones([3, 4, 5]) as tf.Tensor3D;
    expect(() => batchMatMulForward(a, b)).toThrow(`${FAST_BATCH_MATMUL}: expected [N, m, k]·[N, k, n], got [2,3,4]·[3,4,5]`);
    tf.dispose([a, b]);
  });
});
