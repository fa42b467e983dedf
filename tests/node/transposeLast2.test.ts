import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { NODE_TEST_BACKENDS, useBackend } from '../helpers/nodeBackends.ts';
import { TRANSPOSE_LAST2, transposeLast2 } from '../../src/engine/model/kernels/transposeLast2.ts';

const bits = (t: tf.Tensor) => Array.from(new Uint32Array((t.dataSync() as Float32Array).slice().buffer));

for (const backend of NODE_TEST_BACKENDS) {
  describe(`transposeLast2 on ${backend}`, () => {
    beforeAll(() => useBackend(backend));
    afterAll(() => useBackend('cpu'));

    // Tile-aligned, ragged on both axes (129 and 130 are not multiples of the 32-float tile), a stack of
    // matrices, and one below the size the tiled copy takes (tf.transpose itself).
    for (const shape of [
      [128, 128],
      [129, 130],
      [3, 129, 130],
      [2, 160, 128],
      [1, 5],
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
      const x = tf.randomNormal([2, 129, 130], 0, 1, 'float32', 8) as tf.Tensor3D;
      const w = tf.randomNormal([2, 130, 129], 0, 1, 'float32', 9);
      const g = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(transposeLast2(v as tf.Tensor3D), w)));
      const ref = tf.transpose(w, [0, 2, 1]);
      const first = g(x);
      expect(bits(first)).toEqual(bits(ref));
      const before = tf.memory().numTensors;
      for (let i = 0; i < 10; i++) g(x).dispose();
      expect(tf.memory().numTensors).toBe(before);
      tf.dispose([x, w, ref, first]);
    });

    it(backend === 'wasm' ? `runs as ${TRANSPOSE_LAST2} from [128, 128] up, tfjs Transpose below` : 'runs tfjs Transpose', async () => {
      const big = tf.tensor2d(
        Array.from({ length: 128 * 130 }, (_, i) => i),
        [128, 130],
      );
      const small = tf.tensor2d([1, 2, 3, 4, 5, 6], [2, 3]);
      // tf.profile reuses its result object, so each is read before the next.
      const profBig = await tf.profile(() => transposeLast2(big));
      expect(profBig.kernels.map((k) => k.name)).toEqual([backend === 'wasm' ? TRANSPOSE_LAST2 : 'Transpose']);
      const bigT = profBig.result as tf.Tensor;
      expect(Array.from(bigT.dataSync().slice(0, 3))).toEqual([0, 130, 260]);
      const profSmall = await tf.profile(() => transposeLast2(small));
      expect(profSmall.kernels.map((k) => k.name)).toEqual(['Transpose']);
      expect(Array.from((profSmall.result as tf.Tensor).dataSync())).toEqual([1, 4, 2, 5, 3, 6]);
      tf.dispose([big, small, bigT, profSmall.result as tf.Tensor]);
    });
  });
}
