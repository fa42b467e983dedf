import * as tf from '@tensorflow/tfjs';
import { heapF32, heapI32, type WasmBackendLike } from './wasmBackend.ts';

/**
 * Rows of a float32 table [V, H] for int32 ids [n] → [n, H], as one row copy per id.
 *
 * tfjs-wasm's GatherV2 (tfjs-backend-wasm/src/cc/kernels/Gather.cc) computes every output element's source
 * through offset_to_loc/loc_to_offset with heap-allocated index vectors: ~100 ns per float, 19 % of a
 * BERT-Tiny forward pass at b32×s128 in Chromium for three embedding lookups. Copying whole rows gives the
 * same values (a copy is exact). Registered for wasm only; other backends keep tf.gather.
 */
export const GATHER_ROWS = 'TaskscopeGatherRows';

function wasmKernel({ inputs, backend }: { inputs: tf.NamedTensorInfoMap; backend: unknown }): tf.TensorInfo {
  const be = backend as WasmBackendLike;
  const { table, ids } = inputs as { table: tf.TensorInfo; ids: tf.TensorInfo };
  if (table.shape.length !== 2 || ids.shape.length !== 1)
    throw new Error(`${GATHER_ROWS}: expected table [V, H] and ids [n], got [${table.shape}] and [${ids.shape}]`);
  const [V, H] = table.shape as [number, number];
  const n = ids.shape[0]!;
  const out = be.makeOutput([n, H], 'float32');
  // Views after makeOutput: an allocation may have grown (and so replaced) the heap's buffer.
  const src = heapF32(be, table);
  const idx = heapI32(be, ids);
  const dst = heapF32(be, out);
  for (let i = 0; i < n; i++) {
    const r = idx[i]!;
    if (r < 0 || r >= V) throw new Error(`${GATHER_ROWS}: id ${r} is not in [0, ${V - 1}]`);
    dst.set(src.subarray(r * H, r * H + H), i * H);
  }
  return out;
}

let registered = false;

/** table [V, H] (float32), ids [n] (int32) → [n, H]; tf.gather except on wasm. */
export function gatherRows(table: tf.Tensor2D, ids: tf.Tensor1D): tf.Tensor2D {
  if (tf.getBackend() !== 'wasm' || table.dtype !== 'float32' || ids.dtype !== 'int32') return tf.gather(table, ids);
  if (!registered) {
    registered = true;
    tf.registerKernel({ kernelName: GATHER_ROWS, backendName: 'wasm', kernelFunc: wasmKernel as unknown as tf.KernelFunc });
  }
  return tf.engine().runKernel(GATHER_ROWS, { table, ids }) as tf.Tensor2D;
}
