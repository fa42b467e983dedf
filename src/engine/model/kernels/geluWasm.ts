import * as tf from '@tensorflow/tfjs';
import { FUSED_GELU, FUSED_GELU_GRAD, registerFusedGradients } from '../fusedOps.ts';
import { heapF32, type WasmBackendLike } from './wasmBackend.ts';

/**
 * GELU and its gradient as one pass each over the wasm heap (fusedOps.ts defines the kernels and the
 * closed-form gradient). The generic composition ½x(1 + erf(x/√2)) is five tfjs-wasm kernels, and its Erf
 * is scalar libm code: 10–23 % of a BERT-Tiny forward pass at b32×s128 in Chromium. erf here is the
 * Abramowitz–Stegun 7.1.26 rational form that tfjs's cpu backend uses for Erf (|error| ≤ 1.5·10⁻⁷, below
 * float32 resolution near 1), evaluated in float64 and stored as float32.
 */
const P = 0.3275911;
const A1 = 0.254829592;
const A2 = -0.284496736;
const A3 = 1.421413741;
const A4 = -1.453152027;
const A5 = 1.061405429;

/** erf(z), small enough for the loops below to inline. */
function erf(z: number): number {
  const v = Math.abs(z);
  const t = 1 / (1 + P * v);
  const y = 1 - ((((A5 * t + A4) * t + A3) * t + A2) * t + A1) * t * Math.exp(-v * v);
  return z < 0 ? -y : y;
}

const INV_SQRT2PI = 1 / Math.sqrt(2 * Math.PI);

function geluKernel({ inputs, backend }: { inputs: tf.NamedTensorInfoMap; backend: unknown }): tf.TensorInfo {
  const be = backend as WasmBackendLike;
  const x = inputs.x as tf.TensorInfo;
  const out = be.makeOutput(x.shape, 'float32');
  const xs = heapF32(be, x);
  const ys = heapF32(be, out);
  for (let i = 0; i < xs.length; i++) {
    const v = xs[i]!;
    ys[i] = 0.5 * v * (1 + erf(v * Math.SQRT1_2));
  }
  return out;
}

/** dx = dy · (½(1 + erf(x/√2)) + x·e^(−x²/2)/√(2π)). */
function geluGradKernel({ inputs, backend }: { inputs: tf.NamedTensorInfoMap; backend: unknown }): tf.TensorInfo {
  const be = backend as WasmBackendLike;
  const x = inputs.x as tf.TensorInfo;
  const dy = inputs.dy as tf.TensorInfo;
  const out = be.makeOutput(x.shape, 'float32');
  const xs = heapF32(be, x);
  const gs = heapF32(be, dy);
  const ys = heapF32(be, out);
  for (let i = 0; i < xs.length; i++) {
    const v = xs[i]!;
    ys[i] = gs[i]! * (0.5 * (1 + erf(v * Math.SQRT1_2)) + v * Math.exp(-0.5 * v * v) * INV_SQRT2PI);
  }
  return out;
}

let registered = false;

/** Registers the wasm GELU kernels (idempotent); ops.activation then takes the fused path on wasm. */
export function registerWasmGelu(): void {
  if (registered) return;
  registered = true;
  registerFusedGradients();
  tf.registerKernel({ kernelName: FUSED_GELU, backendName: 'wasm', kernelFunc: geluKernel as unknown as tf.KernelFunc });
  tf.registerKernel({ kernelName: FUSED_GELU_GRAD, backendName: 'wasm', kernelFunc: geluGradKernel as unknown as tf.KernelFunc });
}
