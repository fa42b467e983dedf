import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { NODE_TEST_BACKENDS, useBackend } from '../helpers/nodeBackends.ts';
import { GATHER_ROWS, gatherRows } from '../../src/engine/model/kernels/gatherRows.ts';

for (const backend of NODE_TEST_BACKENDS) {
  describe(`gatherRows (embedding lookup) on ${backend}`, () => {
    beforeAll(() => useBackend(backend));
    afterAll(() => useBackend('cpu'));

    it('equals tf.gather bit for bit, repeated ids included, and leaks no tensors', () => {
      const table = tf.randomNormal([50, 7], 0, 1, 'float32', 5) as tf.Tensor2D;
      const ids = tf.tensor1d([3, 0, 49, 3, 17, 3], 'int32');
      const before = tf.memory().numTensors;
      const ours = gatherRows(table, ids);
      const ref = tf.gather(table, ids);
      expect(ours.shape).toEqual([6, 7]);
      expect(Array.from(ours.dataSync())).toEqual(Array.from(ref.dataSync()));
      tf.dispose([ours, ref]);
      expect(tf.memory().numTensors).toBe(before);
      tf.dispose([table, ids]);
    });

    it(backend === 'wasm' ? `runs as ${GATHER_ROWS} and names an id out of range` : 'runs tfjs GatherV2', async () => {
      const table = tf.ones([4, 3]) as tf.Tensor2D;
      const ids = tf.tensor1d([1, 2], 'int32');
      const prof = await tf.profile(() => gatherRows(table, ids));
      expect(prof.kernels.map((k) => k.name)).toEqual([backend === 'wasm' ? GATHER_ROWS : 'GatherV2']);
      if (backend === 'wasm') {
        const bad = tf.tensor1d([1, 4], 'int32');
        expect(() => gatherRows(table, bad)).toThrow(`${GATHER_ROWS}: id 4 is not in [0, 3]`);
        bad.dispose();
      }
      tf.dispose([table, ids, prof.result as tf.Tensor]);
    });
  });
}
