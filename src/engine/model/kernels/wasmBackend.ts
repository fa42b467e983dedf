import type * as tf from '@tensorflow/tfjs';

/**
 * The parts of tfjs-backend-wasm's BackendWasm (4.22) that Taskscope's own wasm kernels read; the package
 * does not export these as types. Kernels run synchronously on the thread that owns the wasm module, so a
 * heap view taken after the last allocation (makeOutput may grow the memory) stays valid for the kernel.
 */
export interface WasmBackendLike {
  wasm: {
    HEAPU8: Uint8Array;
    cwrap: (name: string, ret: null, args: string[]) => (...a: unknown[]) => void;
    tfjs: { registerTensor: (id: number, size: number, offset: number) => void; disposeData: (id: number) => void };
  };
  dataIdMap: { get: (dataId: object) => { memoryOffset: number } };
  dataIdNextNumber: number;
  makeOutput: (shape: number[], dtype: 'float32' | 'int32') => tf.TensorInfo;
  typedArrayFromHeap: (t: tf.TensorInfo) => Float32Array | Int32Array | Uint8Array;
}

/** A float32 tensor's values as a view into the wasm heap (no copy). */
export function heapF32(be: WasmBackendLike, t: tf.TensorInfo): Float32Array {
  if (t.dtype !== 'float32') throw new Error(`expected a float32 tensor, got ${t.dtype}`);
  return be.typedArrayFromHeap(t) as Float32Array;
}

/** An int32 tensor's values as a view into the wasm heap (no copy). */
export function heapI32(be: WasmBackendLike, t: tf.TensorInfo): Int32Array {
  if (t.dtype !== 'int32') throw new Error(`expected an int32 tensor, got ${t.dtype}`);
  return be.typedArrayFromHeap(t) as Int32Array;
}
