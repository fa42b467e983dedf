import * as tf from '@tensorflow/tfjs';
import type { WasmBackendLike } from './wasmBackend.ts';
import { transposeLast2 } from './transposeLast2.ts';

/**
 * Batched a·b for a [N, m, k] and b [N, k, n] → [N, m, n], with no transpose flags.
 *
 * tfjs-wasm hands a BatchMatMul to XNNPACK only when both operands have batch 1 and neither is transposed
 * (tfjs-backend-wasm/src/cc/batch_mat_mul_impl.cc); every other case runs a scalar blocked loop that is
 * ~10× slower per FLOP. Attention's matmuls are all batched over batch·heads, so this kernel runs them
 * as N batch-1 XNNPACK matmuls on views into the operands' wasm memory: no copies, the same BatchMatMul
 * entry point tfjs itself calls. Other backends run tfjs's own batched matMul.
 */
export const FAST_BATCH_MATMUL = 'TaskscopeBatchMatMulFast';

type WasmMatMul = (
  aId: number,
  aShape: Uint8Array,
  aRank: number,
  bId: number,
  bShape: Uint8Array,
  bRank: number,
  transposeA: boolean,
  transposeB: boolean,
  outId: number,
) => void;
const wasmMatMuls = new WeakMap<object, WasmMatMul>();

function shapeBytes(shape: number[]): Uint8Array {
  return new Uint8Array(new Int32Array(shape).buffer);
}

function checkShapes(a: tf.TensorInfo, b: tf.TensorInfo): [number, number, number, number] {
  const [N, m, k] = a.shape;
  const [Nb, kb, n] = b.shape;
  if (a.shape.length !== 3 || b.shape.length !== 3 || N !== Nb || k !== kb) {
    throw new Error(`${FAST_BATCH_MATMUL}: expected [N, m, k]·[N, k, n], got [${a.shape}]·[${b.shape}]`);
  }
  if (a.dtype !== 'float32' || b.dtype !== 'float32') throw new Error(`${FAST_BATCH_MATMUL}: float32 operands only`);
  return [N, m, k, n];
}

function wasmKernel({ inputs, backend }: { inputs: tf.NamedTensorInfoMap; backend: unknown }): tf.TensorInfo {
  const be = backend as WasmBackendLike;
  const { a, b } = inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
  const [N, m, k, n] = checkShapes(a, b);
  let matMul = wasmMatMuls.get(be);
  if (!matMul) {
    matMul = be.wasm.cwrap('BatchMatMul', null, ['number', 'array', 'number', 'number', 'array', 'number', 'number', 'number', 'number']) as WasmMatMul;
    wasmMatMuls.set(be, matMul);
  }
  const out = be.makeOutput([N, m, n], 'float32');
  const aOff = be.dataIdMap.get(a.dataId).memoryOffset;
  const bOff = be.dataIdMap.get(b.dataId).memoryOffset;
  const oOff = be.dataIdMap.get(out.dataId).memoryOffset;
  const aShape = shapeBytes([1, m, k]);
  const bShape = shapeBytes([1, k, n]);
  // Each view gets a fresh tensor id: XNNPACK's operator cache is keyed on the weights' (b's) id and freed
  // by that id's disposal, so a view must never outlive its matmul.
  for (let i = 0; i < N; i++) {
    const ids = [be.dataIdNextNumber++, be.dataIdNextNumber++, be.dataIdNextNumber++];
    be.wasm.tfjs.registerTensor(ids[0], m * k, aOff + 4 * i * m * k);
    be.wasm.tfjs.registerTensor(ids[1], k * n, bOff + 4 * i * k * n);
    be.wasm.tfjs.registerTensor(ids[2], m * n, oOff + 4 * i * m * n);
    matMul(ids[0], aShape, 3, ids[1], bShape, 3, false, false, ids[2]);
    for (const id of ids) be.wasm.tfjs.disposeData(id);
  }
  return out;
}

let registered = false;
function ensureRegistered() {
  if (registered) return;
  registered = true;
  tf.registerKernel({ kernelName: FAST_BATCH_MATMUL, backendName: 'wasm', kernelFunc: wasmKernel as unknown as tf.KernelFunc });
}

/** a [N, m, k] · b [N, k, n] → [N, m, n], forward only (see batchMatMul for the differentiable op). */
export function batchMatMulForward(a: tf.Tensor3D, b: tf.Tensor3D): tf.Tensor3D {
  if (tf.getBackend() !== 'wasm') return tf.matMul(a, b);
  ensureRegistered();
  return tf.engine().runKernel(FAST_BATCH_MATMUL, { a, b }) as tf.Tensor3D;
}

/** Differentiable a·b over a leading batch axis; the gradient is two more fast matmuls:
 * da = dy·bᵀ, db = aᵀ·dy (transposes made explicit, so every matmul stays on the fast path). */
export const batchMatMul = tf.customGrad((...args: unknown[]) => {
  const [a, b, save] = args as [tf.Tensor3D, tf.Tensor3D, tf.GradSaveFunc];
  save([a, b]);
  return {
    value: batchMatMulForward(a, b),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [as, bs] = saved as [tf.Tensor3D, tf.Tensor3D];
      const dy3 = dy as tf.Tensor3D;
      return [batchMatMulForward(dy3, transposeLast2(bs)), batchMatMulForward(transposeLast2(as), dy3)];
    },
  };
}) as (a: tf.Tensor3D, b: tf.Tensor3D) => tf.Tensor3D;
