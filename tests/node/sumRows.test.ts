import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { NODE_TEST_BACKENDS, useBackend } from '../helpers/nodeBackends.ts';
import { SUM_ROWS, sumRows } from '../../src/engine/model/kernels/sumRows.ts';

const bits = (t: tf.Tensor) => Array.from(new Uint32Array((t.dataSync() as Float32Array).slice().buffer));

for (const backend of NODE_TEST_BACKENDS) {
  describe(`sumRows (the dense bias gradient) on ${backend}`, () => {
    beforeAll(() => useBackend(backend));
    afterAll(() => useBackend('cpu'));

    // The dense-layer shapes of BERT-Tiny at b16×s128 (rows 2048) and a small ragged one.
    for (const [N, C] of [
      [2048, 512],
      [2048, 128],
      [37, 5],
    ]) {
      // On wasm the dense layer's db was ones[1, N]·dy; on cpu it was, and still is, tf.sum (whose order the cpu
      // backend's blocked matMul does not share).
      it(`[${N}, ${C}] equals tf.sum(x, 0)${backend === 'wasm' ? ' and ones[1, N]·x' : ''} bit for bit`, () => {
        const x = tf.randomNormal([N, C], 0, 1, 'float32', 3) as tf.Tensor2D;
        const ours = sumRows(x);
        const bySum = tf.sum(x, 0);
        const byMatMul = tf.reshape(tf.matMul(tf.ones([1, N]), x), [C]);
        expect(ours.shape).toEqual([C]);
        expect(bits(ours)).toEqual(bits(bySum));
        if (backend === 'wasm') expect(bits(ours)).toEqual(bits(byMatMul));
        tf.dispose([x, ours, bySum, byMatMul]);
      });
    }

    it('has the broadcast gradient and keeps tf.memory().numTensors flat', () => {
      const x = tf.randomNormal([6, 4], 0, 1, 'float32', 4) as tf.Tensor2D;
      const w = tf.tensor1d([1, -2, 0.5, 3]);
      const g = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(sumRows(v as tf.Tensor2D), w)));
      const first = g(x);
      expect(first.shape).toEqual([6, 4]);
      expect(Array.from(first.dataSync())).toEqual(Array.from({ length: 6 }, () => [1, -2, 0.5, 3]).flat());
      const before = tf.memory().numTensors;
      for (let i = 0; i < 10; i++) g(x).dispose();
      expect(tf.memory().numTensors).toBe(before);
      tf.dispose([x, w, first]);
    });

    it(backend === 'wasm' ? `runs as ${SUM_ROWS}` : 'runs tfjs Sum', async () => {
      const x = tf.tensor2d([1, 2, 3, 4, 5, 6], [3, 2]);
      const prof = await tf.profile(() => sumRows(x));
      expect(prof.kernels.map((k) => k.name)).toEqual([backend === 'wasm' ? SUM_ROWS : 'Sum']);
      expect(Array.from((prof.result as tf.Tensor).dataSync())).toEqual([9, 12]);
      tf.dispose([x, prof.result as tf.Tensor]);
    });
  });
}
