import * as tf from '@tensorflow/tfjs';
import { heapF32, type WasmBackendLike } from './wasmBackend.ts';

/**
 * Moving attention heads between the token-major layout of the projections, x [B, T, P·A·d] (P parts, e.g.
 * Q, K and V side by side), and the head-major layout of the attention matmuls, P tensors [B·A, T, d].
 *
 * On tfjs-wasm the generic route (reshape, a 4-D Transpose, a SplitV, and Concat + Transpose in the
 * gradient) was ~40 % of a forward pass in Chromium: its Slice/SplitV/Concat kernels start with
 * backend.readSync, a copy of the whole input out of the (shared, when threaded) wasm heap, then copy one
 * d-float row at a time. These kernels copy the d-float rows once, between views of the heap. Split and
 * merge are each other's gradient, and both are pure copies, so values and gradients are exact. Other
 * backends keep the generic ops.
 */
export const SPLIT_HEADS = 'TaskscopeSplitHeads';
export const MERGE_HEADS = 'TaskscopeMergeHeads';

interface SplitAttrs {
  heads: number;
  parts: number;
}
interface MergeAttrs extends SplitAttrs {
  batch: number;
}

/** Calls copy(xOffset, partIndex, headTensorOffset) for every d-row of x [B, T, P·A·d]. */
function forEachRow(B: number, T: number, A: number, d: number, P: number, copy: (xo: number, p: number, ho: number) => void) {
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      const rowBase = (b * T + t) * P * A * d;
      for (let p = 0; p < P; p++) {
        for (let a = 0; a < A; a++) copy(rowBase + (p * A + a) * d, p, ((b * A + a) * T + t) * d);
      }
    }
  }
}

function splitKernel({ inputs, backend, attrs }: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs: unknown }): tf.TensorInfo[] {
  const be = backend as WasmBackendLike;
  const { x } = inputs as { x: tf.TensorInfo };
  const { heads: A, parts: P } = attrs as SplitAttrs;
  const [B, T, W] = x.shape as [number, number, number];
  const d = W / (P * A);
  const outs = Array.from({ length: P }, () => be.makeOutput([B * A, T, d], 'float32'));
  const src = heapF32(be, x);
  const dst = outs.map((o) => heapF32(be, o));
  forEachRow(B, T, A, d, P, (xo, p, ho) => dst[p]!.set(src.subarray(xo, xo + d), ho));
  return outs;
}

function mergeKernel({ inputs, backend, attrs }: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs: unknown }): tf.TensorInfo {
  const be = backend as WasmBackendLike;
  const parts = Object.keys(inputs)
    .sort()
    .map((k) => inputs[k]!);
  const { batch: B } = attrs as MergeAttrs;
  const P = parts.length;
  const [BA, T, d] = parts[0]!.shape as [number, number, number];
  const A = BA / B;
  const out = be.makeOutput([B, T, P * A * d], 'float32');
  const dst = heapF32(be, out);
  const src = parts.map((p) => heapF32(be, p));
  forEachRow(B, T, A, d, P, (xo, p, ho) => dst.set(src[p]!.subarray(ho, ho + d), xo));
  return out;
}

const partName = (p: number) => `x${p}`;

function runSplit(x: tf.Tensor, heads: number, parts: number): tf.Tensor3D[] {
  return tf.engine().runKernel(SPLIT_HEADS, { x }, { heads, parts } as unknown as tf.NamedAttrMap) as unknown as tf.Tensor3D[];
}

function runMerge(xs: tf.Tensor[], batch: number): tf.Tensor3D {
  const attrs: MergeAttrs = { batch, heads: xs[0]!.shape[0]! / batch, parts: xs.length };
  return tf.engine().runKernel(MERGE_HEADS, Object.fromEntries(xs.map((x, p) => [partName(p), x])), attrs as unknown as tf.NamedAttrMap) as tf.Tensor3D;
}

let registered = false;
function ensureRegistered() {
  if (registered) return;
  registered = true;
  tf.registerKernel({ kernelName: SPLIT_HEADS, backendName: 'wasm', kernelFunc: splitKernel as unknown as tf.KernelFunc });
  tf.registerKernel({ kernelName: MERGE_HEADS, backendName: 'wasm', kernelFunc: mergeKernel as unknown as tf.KernelFunc });
  tf.registerGradient({
    kernelName: SPLIT_HEADS,
    gradFunc: (dy, _saved, attrs) => {
      const dys = (Array.isArray(dy) ? dy : [dy]) as tf.Tensor[];
      const B = dys[0]!.shape[0]! / (attrs as unknown as SplitAttrs).heads;
      return { x: () => runMerge(dys, B) };
    },
  });
  tf.registerGradient({
    kernelName: MERGE_HEADS,
    gradFunc: (dy, _saved, attrs) => {
      const { heads, parts } = attrs as unknown as MergeAttrs;
      const gs = runSplit(dy as tf.Tensor, heads, parts);
      return Object.fromEntries(gs.map((t, p) => [partName(p), () => t]));
    },
  });
}

/** x [B, T, P·A·d] → P tensors [B·A, T, d] (head-major), in one pass on wasm. */
export function splitHeads(x: tf.Tensor3D, heads: number, parts: number): tf.Tensor3D[] {
  const [B, T, W] = x.shape;
  const d = W / (parts * heads);
  if (!Number.isInteger(d)) throw new Error(`splitHeads: width ${W} is not ${parts} parts × ${heads} heads × d`);
  if (tf.getBackend() !== 'wasm' || x.dtype !== 'float32') {
    const hm = tf.reshape(tf.transpose(tf.reshape(x, [B, T, parts * heads, d]), [0, 2, 1, 3]), [B, parts, heads * T * d]);
    return (parts === 1 ? [hm] : tf.split(hm, parts, 1)).map((h) => tf.reshape(h, [B * heads, T, d]) as tf.Tensor3D);
  }
  ensureRegistered();
  return runSplit(x, heads, parts);
}

/** P tensors [B·A, T, d] → [B, T, P·A·d] (token-major), the inverse of splitHeads. */
export function mergeHeads(xs: tf.Tensor3D[], batch: number): tf.Tensor3D {
  const [BA, T, d] = xs[0]!.shape;
  const A = BA / batch;
  if (tf.getBackend() !== 'wasm' || xs.some((x) => x.dtype !== 'float32')) {
    const hm =
      xs.length === 1
        ? xs[0]!
        : tf.concat(
            xs.map((x) => tf.reshape(x, [batch, 1, A * T * d])),
            1,
          );
    return tf.reshape(tf.transpose(tf.reshape(hm, [batch, xs.length * A, T, d]), [0, 2, 1, 3]), [batch, T, xs.length * A * d]);
  }
  ensureRegistered();
  return runMerge(xs, batch);
}
