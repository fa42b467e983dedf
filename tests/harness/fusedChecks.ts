import * as tf from '@tensorflow/tfjs';
import { registerWebGPUKernels, unregisterWebGPUKernels } from '../../workers/webgpuKernels.ts';
import { activation, dropout, layerNorm } from '../../src/engine/model/ops.ts';
import { attentionProbs } from '../../src/engine/model/kernels/attentionSoftmax.ts';
import { createOptimizer } from '../../src/engine/train/optim/index.ts';

/**
 * The compute worker's checks of the fused WebGPU kernels against tfjs's generic ops (same inputs, kernels
 * registered and not): LayerNorm/GELU, Adam(W), dropout and the attention softmax. Spread into its API.
 */
export const fusedChecks = {
  /** Switches the fused webgpu kernels on or off for this worker (ops.ts then takes the fused or the generic path). */
  setFused(on: boolean): void {
    if (on) registerWebGPUKernels();
    else unregisterWebGPUKernels();
  },

  /**
   * LayerNorm and GELU, values and gradients, through ops.ts with the fused kernels and without, on the
   * same random inputs; returns the largest absolute differences and the tensor counts around the check.
   */
  async fusedVsGeneric(rows: number, H: number): Promise<{ diffs: Record<string, number>; tensorsBefore: number; tensorsAfter: number }> {
    const tensorsBefore = tf.memory().numTensors;
    const x = tf.randomNormal([rows, H], 0.3, 2, 'float32', 11);
    const w = tf.randomNormal([rows, H], 0, 1, 'float32', 12);
    const gamma = tf.randomNormal([H], 1, 0.2, 'float32', 13) as tf.Tensor1D;
    const beta = tf.randomNormal([H], 0, 0.2, 'float32', 14) as tf.Tensor1D;
    const pass = async () => {
      const ln = tf.grads((a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(layerNorm(a, g as tf.Tensor1D, b as tf.Tensor1D, 1e-12), w)));
      const ge = tf.grads((a: tf.Tensor) => tf.sum(tf.mul(activation(a, 'gelu'), w)));
      const out = tf.tidy(() => ({
        ln: layerNorm(x, gamma, beta, 1e-12),
        lnGrads: ln([x, gamma, beta]),
        gelu: activation(x, 'gelu'),
        geluGrad: ge([x])[0]!,
      }));
      const read = async (t: tf.Tensor) => (await t.data()) as Float32Array;
      const res = {
        ln: await read(out.ln),
        dx: await read(out.lnGrads[0]!),
        dgamma: await read(out.lnGrads[1]!),
        dbeta: await read(out.lnGrads[2]!),
        gelu: await read(out.gelu),
        dgelu: await read(out.geluGrad),
      };
      tf.dispose([out.ln, ...out.lnGrads, out.gelu, out.geluGrad]);
      return res;
    };
    const { diffs } = await fusedAgainstGeneric(pass);
    tf.dispose([x, w, gamma, beta]);
    return { diffs, tensorsBefore, tensorsAfter: tf.memory().numTensors };
  },

  /**
   * Three steps of `kind` ('adam' or 'adamw', lr 1e-2 falling) on a decayed [64, 48] weight and an undecayed
   * [48] bias, with the fused Adam kernel and without: |Δ| / max|generic| of the parameters and both moments.
   */
  async adamVsGeneric(kind: 'adam' | 'adamw'): Promise<{ relative: Record<string, number>; tensorsBefore: number; tensorsAfter: number }> {
    const tensorsBefore = tf.memory().numTensors;
    const pass = async () => {
      // Inside tidy the initial tensor is freed while the variable keeps its data.
      const w = tf.tidy(() => tf.variable(tf.randomNormal([64, 48], 0, 1, 'float32', 41)));
      const b = tf.tidy(() => tf.variable(tf.randomNormal([48], 0, 1, 'float32', 42)));
      const opt = createOptimizer(kind, [
        { name: 'layer.weight', variable: w },
        { name: 'layer.bias', variable: b },
      ]);
      for (let step = 0; step < 3; step++) {
        const grads = {
          'layer.weight': tf.randomNormal([64, 48], 0, 0.1, 'float32', 50 + step),
          'layer.bias': tf.randomNormal([48], 0, 0.1, 'float32', 60 + step),
        };
        opt.step(grads, (t) => 1e-2 / (1 + t));
        tf.dispose(Object.values(grads));
      }
      const state = await opt.getState();
      const out: Record<string, Float32Array> = { weight: (await w.data()) as Float32Array, bias: (await b.data()) as Float32Array };
      for (const sl of state.slots) out[sl.name] = sl.data as Float32Array;
      opt.dispose();
      tf.dispose([w, b]);
      return out;
    };
    const { relative } = await fusedAgainstGeneric(pass);
    return { relative, tensorsBefore, tensorsAfter: tf.memory().numTensors };
  },

  /** ops.ts dropout (rate 0.1, seed 7) and its gradient, with the fused kernel and without; largest |Δ| per output. */
  async dropoutVsGeneric(shape: number[]): Promise<{ diffs: Record<string, number>; zeroed: number; tensorsBefore: number; tensorsAfter: number }> {
    const tensorsBefore = tf.memory().numTensors;
    const x = tf.randomNormal(shape, 0, 1, 'float32', 31);
    const w = tf.randomNormal(shape, 0, 1, 'float32', 32);
    const pass = async () => {
      const f = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(dropout(a, 0.1, true, 7), w)));
      const out = tf.tidy(() => [dropout(x, 0.1, true, 7), f(x)]);
      const [y, dx] = (await Promise.all(out.map((t) => t.data()))) as Float32Array[];
      tf.dispose(out);
      return { y: y!, dx: dx! };
    };
    const r = await fusedAgainstGeneric(pass);
    const y = (await pass()).y;
    tf.dispose([x, w]);
    return { diffs: r.diffs, zeroed: y.filter((v) => v === 0).length / y.length, tensorsBefore, tensorsAfter: tf.memory().numTensors };
  },

  /**
   * attentionProbs (softmax(q·kᵀ/√d + bias)) and its gradients in q, k and the bias, with the fused kernel and
   * without, on random inputs whose second batch row masks its last 3 keys; largest |Δ| and |Δ| / max|generic|.
   */
  async attentionVsGeneric(
    B: number,
    A: number,
    T: number,
    d: number,
  ): Promise<{ diffs: Record<string, number>; relative: Record<string, number>; tensorsBefore: number; tensorsAfter: number }> {
    const tensorsBefore = tf.memory().numTensors;
    const q = tf.randomNormal([B * A, T, d], 0, 1.5, 'float32', 21) as tf.Tensor3D;
    const k = tf.randomNormal([B * A, T, d], 0, 1.5, 'float32', 22) as tf.Tensor3D;
    const w = tf.randomNormal([B, A, T, T], 0, 1, 'float32', 23);
    const keep = Array.from({ length: B * T }, (_, i) => (i >= T && i % T >= T - 3 ? 0 : 1));
    const bias = tf.tensor4d(
      keep.map((m) => (1 - m) * -10000),
      [B, 1, 1, T],
    );
    const pass = async () => {
      const f = tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) =>
        tf.sum(tf.mul(attentionProbs(a as tf.Tensor3D, b as tf.Tensor3D, c as tf.Tensor4D, A), w)),
      );
      const out = tf.tidy(() => ({ probs: attentionProbs(q, k, bias, A), grads: f([q, k, bias]) }));
      const [probs, dq, dk, dbias] = (await Promise.all([out.probs, ...out.grads].map((t) => t.data()))) as Float32Array[];
      tf.dispose([out.probs, ...out.grads]);
      return { probs: probs!, dq: dq!, dk: dk!, dbias: dbias! };
    };
    const r = await fusedAgainstGeneric(pass);
    tf.dispose([q, k, w, bias]);
    return { ...r, tensorsBefore, tensorsAfter: tf.memory().numTensors };
  },
};

/** Runs `pass` with the fused webgpu kernels and without; largest |Δ| per output and |Δ| relative to max|generic|. */
async function fusedAgainstGeneric<K extends string>(pass: () => Promise<Record<K, Float32Array>>) {
  registerWebGPUKernels();
  const fused = await pass();
  unregisterWebGPUKernels();
  const generic = await pass();
  registerWebGPUKernels();
  const diffs = {} as Record<K, number>;
  const relative = {} as Record<K, number>;
  for (const k of Object.keys(fused) as K[]) {
    let d = 0;
    let scale = 0;
    for (let i = 0; i < fused[k].length; i++) {
      d = Math.max(d, Math.abs(fused[k][i]! - generic[k][i]!));
      scale = Math.max(scale, Math.abs(generic[k][i]!));
    }
    diffs[k] = d;
    relative[k] = scale > 0 ? d / scale : d;
  }
  return { diffs, relative };
}
