import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { useBackend } from '../helpers/nodeBackends.ts';
import { activation } from '../../src/engine/model/ops.ts';
import { FUSED_GELU, FUSED_GELU_GRAD } from '../../src/engine/model/fusedOps.ts';

/** erf by its Taylor series, exact to ~1e-13 for the |z| ≤ 2.5 used here (terms stay below e^6). */
function erf64(z: number): number {
  let term = z;
  let sum = z;
  for (let n = 1; n < 200; n++) {
    term *= (-z * z) / n;
    sum += term / (2 * n + 1);
  }
  return (2 / Math.sqrt(Math.PI)) * sum;
}

describe('GELU on wasm as one fused kernel', () => {
  beforeAll(() => useBackend('wasm'));
  afterAll(() => useBackend('cpu'));

  it('value and gradient match float64 GELU within 2e-6, in one kernel each, with no leaked tensors', async () => {
    const xs = Array.from({ length: 401 }, (_, i) => -3.5 + i * 0.0175);
    const x = tf.tensor1d(xs);
    const before = tf.memory().numTensors;
    const prof = await tf.profile(() => {
      const y = activation(x, 'gelu');
      const g = tf.grad((a: tf.Tensor) => tf.sum(activation(a, 'gelu')))(x);
      return [y, g];
    });
    const [y, g] = prof.result as tf.Tensor[];
    const names = prof.kernels.map((k) => k.name);
    expect(names.filter((n) => n === FUSED_GELU)).toHaveLength(2); // the value, and the forward inside tf.grad
    expect(names.filter((n) => n === FUSED_GELU_GRAD)).toHaveLength(1);
    expect(names).not.toContain('Erf');
    const yv = y!.dataSync();
    const gv = g!.dataSync();
    let dy = 0;
    let dg = 0;
    xs.forEach((v, i) => {
      dy = Math.max(dy, Math.abs(yv[i]! - 0.5 * v * (1 + erf64(v / Math.SQRT2))));
      dg = Math.max(dg, Math.abs(gv[i]! - (0.5 * (1 + erf64(v / Math.SQRT2)) + (v * Math.exp(-0.5 * v * v)) / Math.sqrt(2 * Math.PI))));
    });
    expect(dy).toBeLessThan(2e-6);
    expect(dg).toBeLessThan(2e-6);
    tf.dispose([y!, g!]);
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
  });
});
