import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { NODE_TEST_BACKENDS, useBackend } from '../helpers/nodeBackends.ts';
import { attentionScores } from '../../src/engine/model/kernels/attentionMatMuls.ts';
import { batchMatMul } from '../../src/engine/model/kernels/batchMatMulFast.ts';
import { transposeLast2 } from '../../src/engine/model/kernels/transposeLast2.ts';

const bits = (t: tf.Tensor) => Array.from(new Uint32Array((t.dataSync() as Float32Array).slice().buffer));
const maxDiff = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);

for (const backend of NODE_TEST_BACKENDS) {
  describe(`attentionScores (q·kᵀ/√d) on ${backend}`, () => {
    beforeAll(() => useBackend(backend));
    afterAll(() => useBackend('cpu'));

    // [B·A, T, d]: BERT-Tiny's head size and a ragged one.
    for (const [N, T, d] of [
      [4, 16, 64],
      [3, 7, 5],
    ]) {
      it(`[${N}, ${T}, ${d}]: scores and dq, dk bit-identical to differentiating batchMatMul(q, kᵀ), within 1e-5 of tf.matMul`, () => {
        const q = tf.randomNormal([N, T, d], 0, 1, 'float32', 21) as tf.Tensor3D;
        const k = tf.randomNormal([N, T, d], 0, 1, 'float32', 22) as tf.Tensor3D;
        const w = tf.randomNormal([N, T, T], 0, 1, 'float32', 23);
        const loss = (f: (a: tf.Tensor3D, b: tf.Tensor3D) => tf.Tensor) => (a: tf.Tensor, b: tf.Tensor) =>
          tf.sum(tf.mul(f(a as tf.Tensor3D, b as tf.Tensor3D), w));
        const ours = (a: tf.Tensor3D, b: tf.Tensor3D) => attentionScores(a, b, d);
        const composed = (a: tf.Tensor3D, b: tf.Tensor3D) => tf.div(batchMatMul(a, transposeLast2(b)), Math.sqrt(d));
        const reference = (a: tf.Tensor3D, b: tf.Tensor3D) => tf.div(tf.matMul(a, b, false, true), Math.sqrt(d));
        const got = [ours(q, k), ...tf.grads(loss(ours))([q, k])];
        const was = [composed(q, k), ...tf.grads(loss(composed))([q, k])];
        const ref = [reference(q, k), ...tf.grads(loss(reference))([q, k])];
        expect(got.map((t) => t.shape)).toEqual([
          [N, T, T],
          [N, T, d],
          [N, T, d],
        ]);
        for (let i = 0; i < 3; i++) {
          expect(bits(got[i]!)).toEqual(bits(was[i]!));
          expect(maxDiff(got[i]!, ref[i]!)).toBeLessThan(1e-5);
        }
        tf.dispose([q, k, w, ...got, ...was, ...ref]);
      });
    }

    it('keeps tf.memory().numTensors flat over 20 forward + backward calls', () => {
      const q = tf.randomNormal([2, 8, 4]) as tf.Tensor3D;
      const k = tf.randomNormal([2, 8, 4]) as tf.Tensor3D;
      const g = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.square(attentionScores(a as tf.Tensor3D, b as tf.Tensor3D, 4))));
      tf.dispose(g([q, k]));
      const before = tf.memory().numTensors;
      for (let i = 0; i < 20; i++) tf.dispose(g([q, k]));
      expect(tf.memory().numTensors).toBe(before);
      tf.dispose([q, k]);
    });
  });
}
