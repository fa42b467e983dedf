import * as tf from '@tensorflow/tfjs';
import { heapF32, type WasmBackendLike } from './wasmBackend.ts';
import { registerWasmKernelOnce } from './registerWasmKernel.ts';

/**
 * Column sums of a matrix, x [N, C] → [C]: the dense layer's bias gradient.
 *
 * On wasm, tfjs's Sum over axis 0 first transposes x (its reductions run over the innermost axis) and
 * ones[1, N]·x makes XNNPACK pack all of x as matmul weights (3.4 ms for a [2048, 512] dy at BERT-Tiny
 * b16×s128, one core). This kernel adds the rows in order into a float32 accumulator (1.5 ms there), and
 * gives the same bits as both of those (tests/node/sumRows.test.ts).
 * Other backends keep tf.sum.
 */
export const SUM_ROWS = 'TaskscopeSumRows';

function wasmKernel({ inputs, backend }: { inputs: tf.NamedTensorInfoMap; backend: unknown }): tf.TensorInfo {
  const be = backend as WasmBackendLike;
  const { x } = inputs as { x: tf.TensorInfo };
  if (x.shape.length !== 2) throw new Error(`${SUM_ROWS}: expected [N, C], got [${x.shape}]`);
  const [N, C] = x.shape as [number, number];
  const out = be.makeOutput([C], 'float32');
  // Views after makeOutput: an allocation may have grown (and so replaced) the heap's buffer.
  const src = heapF32(be, x);
  const acc = heapF32(be, out);
  acc.fill(0);
  for (let r = 0; r < N; r++) {
    const o = r * C;
    for (let c = 0; c < C; c++) acc[c] += src[o + c]!;
  }
  return out;
}

/** The gradient broadcasts dy back over the rows; the row count travels as an attribute, so the forward
 * saves (on wasm: copies) nothing for it. */
const gradFunc: tf.GradConfig['gradFunc'] = (dy, _saved, attrs) => {
  const rows = (attrs as unknown as { rows: number }).rows;
  return { x: () => tf.broadcastTo(tf.reshape(dy as tf.Tensor, [1, -1]), [rows, (dy as tf.Tensor).size]) };
};

/** x [N, C] → Σ over rows [C]; differentiable. tf.sum(x, 0) except on wasm (float32). */
export function sumRows(x: tf.Tensor2D): tf.Tensor1D {
  if (tf.getBackend() !== 'wasm' || x.dtype !== 'float32') return tf.sum(x, 0);
  registerWasmKernelOnce(SUM_ROWS, wasmKernel, gradFunc);
  return tf.engine().runKernel(SUM_ROWS, { x }, { rows: x.shape[0] } as unknown as tf.NamedAttrMap) as tf.Tensor1D;
}
