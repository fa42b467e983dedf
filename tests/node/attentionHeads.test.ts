import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { NODE_TEST_BACKENDS, useBackend } from '../helpers/nodeBackends.ts';
import { MERGE_HEADS, SPLIT_HEADS, mergeHeads, splitHeads } from '../../src/engine/model/kernels/attentionHeads.ts';

const B = 2;
const T = 5;
const A = 3;
const d = 4;

/** The generic layout change: [B, T, P·A·d] → [B, T, P, A, d] → [P, B, A, T, d], on the cpu backend's own ops. */
function reference(x: tf.Tensor, P: number): tf.Tensor[] {
  return tf.unstack(tf.transpose(tf.reshape(x, [B, T, P, A, d]), [2, 0, 3, 1, 4])).map((h) => tf.reshape(h, [B * A, T, d]));
}

for (const backend of NODE_TEST_BACKENDS) {
  describe(`splitHeads / mergeHeads on ${backend}`, () => {
    beforeAll(() => useBackend(backend));
    afterAll(() => useBackend('cpu'));

    for (const P of [1, 3]) {
      it(`P=${P}: split equals the transpose reference bit for bit, merge inverts it, and the gradients are the inverse copies`, () => {
        const before = tf.memory().numTensors;
        tf.tidy(() => {
          const x = tf.randomNormal([B, T, P * A * d], 0, 1, 'float32', 7) as tf.Tensor3D;
          const w = Array.from({ length: P }, (_, p) => tf.randomNormal([B * A, T, d], 0, 1, 'float32', 20 + p));
          const parts = splitHeads(x, A, P);
          const ref = reference(x, P);
          parts.forEach((t, p) => {
            expect(t.shape).toEqual([B * A, T, d]);
            expect(Array.from(t.dataSync())).toEqual(Array.from(ref[p]!.dataSync()));
          });
          const back = mergeHeads(parts, B);
          expect(Array.from(back.dataSync())).toEqual(Array.from(x.dataSync()));
          // d/dx Σ_p <split(x)_p, w_p> = merge(w); d/dy_p Σ <merge(y), x> = split(x)_p.
          const dx = tf.grad((a: tf.Tensor) => tf.addN(splitHeads(a as tf.Tensor3D, A, P).map((t, p) => tf.sum(tf.mul(t, w[p]!)))))(x);
          expect(Array.from(dx.dataSync())).toEqual(Array.from(mergeHeads(w as tf.Tensor3D[], B).dataSync()));
          const dys = tf.grads((...ys: tf.Tensor[]) => tf.sum(tf.mul(mergeHeads(ys as tf.Tensor3D[], B), x)))(w);
          dys.forEach((g, p) => expect(Array.from(g.dataSync())).toEqual(Array.from(ref[p]!.dataSync())));
        });
        expect(tf.memory().numTensors).toBe(before);
      });
    }

    it(backend === 'wasm' ? `runs as ${SPLIT_HEADS} and ${MERGE_HEADS}` : 'runs generic ops', async () => {
      const x = tf.ones([B, T, 3 * A * d]) as tf.Tensor3D;
      const prof = await tf.profile(() => mergeHeads(splitHeads(x, A, 3), B));
      const names = prof.kernels.map((k) => k.name);
      if (backend === 'wasm') expect(names).toEqual([SPLIT_HEADS, MERGE_HEADS]);
      else expect(names).toContain('Transpose');
      tf.dispose([x, prof.result as tf.Tensor]);
    });
  });
}
