import * as tf from '@tensorflow/tfjs';
import { heapF32, type WasmBackendLike } from './wasmBackend.ts';
import { registerWasmKernelOnce } from './registerWasmKernel.ts';

/**
 * Swaps the last two axes of a matrix or a stack of matrices: [r, c] → [c, r], [N, r, c] → [N, c, r].
 *
 * On wasm every matmul gradient needs one such transpose (tfjs-wasm hands only untransposed batch-1 matmuls
 * to XNNPACK, docs/architecture.md, tfjs trap 2), and tfjs-wasm's Transpose (transpose_impl.cc) walks the
 * output one column at a time: fast while a matrix fits in the L1 cache, a cache miss per float past it
 * (2.3 ms for the [2048, 128] activations of a BERT-Tiny b16×s128 dense layer, 10 ms for [2048, 512], on
 * one core). This kernel copies 32 × 32 tiles between views of the heap (0.55 and 2.2 ms there), but at
 * ~2 ns a float it loses to tfjs on small matrices ([32, 128, 64]: 0.5 vs 0.1 ms), so it takes only
 * matrices of MIN_TILED floats or more. A transpose is a copy, so values and gradients are exact. Other
 * backends keep tf.transpose.
 */
export const TRANSPOSE_LAST2 = 'TaskscopeTransposeLast2';

/** Tile side: a 32 × 32 float tile of the source and of the destination (4 KiB each) stays in L1. */
const TILE = 32;
/** The smallest matrix (r·c floats) the tiled copy takes: [128, 128] (1.0 vs 1.6 ms for 32 of them); tfjs
 * keeps [128, 64] and smaller. */
const MIN_TILED = 128 * 128;

/** dst[c·R + r] = src[r·C + c] for one R × C matrix starting at src[s] and dst[d]. */
function transposeTiles(src: Float32Array, s: number, dst: Float32Array, d: number, R: number, C: number) {
  for (let r0 = 0; r0 < R; r0 += TILE) {
    const r1 = Math.min(r0 + TILE, R);
    for (let c0 = 0; c0 < C; c0 += TILE) {
      const c1 = Math.min(c0 + TILE, C);
      for (let c = c0; c < c1; c++) {
        let o = d + c * R + r0;
        for (let i = s + r0 * C + c, end = s + r1 * C; i < end; i += C) dst[o++] = src[i]!;
      }
    }
  }
}

function wasmKernel({ inputs, backend }: { inputs: tf.NamedTensorInfoMap; backend: unknown }): tf.TensorInfo {
  const be = backend as WasmBackendLike;
  const { x } = inputs as { x: tf.TensorInfo };
  const rank = x.shape.length;
  if (rank !== 2 && rank !== 3) throw new Error(`${TRANSPOSE_LAST2}: expected [r, c] or [N, r, c], got [${x.shape}]`);
  const [R, C] = x.shape.slice(-2) as [number, number];
  const N = rank === 3 ? x.shape[0]! : 1;
  const out = be.makeOutput([...x.shape.slice(0, -2), C, R], 'float32');
  // Views after makeOutput: an allocation may have grown (and so replaced) the heap's buffer.
  const src = heapF32(be, x);
  const dst = heapF32(be, out);
  for (let n = 0; n < N; n++) transposeTiles(src, n * R * C, dst, n * R * C, R, C);
  return out;
}

/** [r, c] → [c, r] and [N, r, c] → [N, c, r]; differentiable. tf.transpose except on wasm (float32, r·c ≥ MIN_TILED). */
export function transposeLast2<T extends tf.Tensor2D | tf.Tensor3D>(x: T): T {
  const [r, c] = x.shape.slice(-2) as [number, number];
  if (tf.getBackend() !== 'wasm' || x.dtype !== 'float32' || r * c < MIN_TILED) return tf.transpose(x, x.rank === 3 ? [0, 2, 1] : [1, 0]);
  // Its own inverse: the gradient of a swap is the swap of the gradient.
  registerWasmKernelOnce(TRANSPOSE_LAST2, wasmKernel, (dy) => ({ x: () => transposeLast2(dy as tf.Tensor2D) }));
  return tf.engine().runKernel(TRANSPOSE_LAST2, { x }) as T;
}
