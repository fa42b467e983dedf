import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { NODE_TEST_BACKENDS, useBackend } from '../helpers/nodeBackends.ts';
import { TRANSPOSE_LAST2, transposeLast2 } from '../../src/engine/model/kernels/transposeLast2.ts';

const bits = (t: tf.Tensor) => Array.from(new Uint32Array((t.dataSync() as Float32Array).slice().buffer));

for (const backend of NODE_TEST_BACKENDS) {
  describe(`transposeLast2 on ${backend}`, () => {
    beforeAll(() => useBackend(backend));
    afterAll(() => useBackend('cpu'));

    // Tile-aligned, ragged on both axes (33 and 70 are not multiples of the 32-float tile), and one row.
    for (const shape of [
      [64, 32],
      [33, 70],
      [1, 5],
      [3, 33, 70],
      [4, 64, 16],
    ]) {
      it(`[${shape}] equals tf.transpose bit for bit`, () => {
        const x = tf.randomNormal(shape, 0, 1, 'float32', 7) as tf.Tensor;
        const perm = shape.length === 3 ? [0, 2, 1] : [1, 0];
        const ours = transposeLast2(x as tf.Tensor2D | tf.Tensor3D);
        const ref = tf.transpose(x, perm);
        expect(ours.shape).toEqual(ref.shape);
        expect(bits(ours)).toEqual(bits(ref));
        tf.dispose([x, ours, ref]);
      });
    }

    it('has the transposed gradient, bit for bit, and keeps tf.memory().numTensors flat', () => {
      const x = tf.randomNormal([3, 33, 70], 0, 1, 'float32', 8) as tf.Tensor3D;
      const w = tf.randomNormal([3, 70, 33], 0, 1, 'float32', 9);
      const g = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(transposeLast2(v as tf.Tensor3D), w)));
      const ref = tf.transpose(w, [0, 2, 1]);
      const first = g(x);
      expect(bits(first)).toEqual(bits(ref));
      const before = tf.memory().numTensors;
      for (let i = 0; i < 10; i++) g(x).dispose();
      expect(tf.memory().numTensors).toBe(before);
      tf.dispose([x, w, ref, first]);
    });

    it(backend === 'wasm' ? `runs as ${TRANSPOSE_LAST2}` : 'runs tfjs Transpose', async () => {
      const x = tf.tensor2d([1, 2, 3, 4, 5, 6], [2, 3]);
      const prof = await tf.profile(() => transposeLast2(x));
      expect(prof.kernels.map((k) => k.name)).toEqual([backend === 'wasm' ? TRANSPOSE_LAST2 : 'Transpose']);
      expect(Array.from((prof.result as tf.Tensor).dataSync())).toEqual([1, 4, 2, 5, 3, 6]);
      tf.dispose([x, prof.result as tf.Tensor]);
    });
  });
}
