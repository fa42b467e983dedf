import * as tf from '@tensorflow/tfjs';

/**
 * Counts what tfjs's webgpu backend sends to the GPU while `run` executes: compute dispatches (per program
 * class, e.g. BinaryOpProgram, MatMulPackedProgram) and uploads (CPU values copied into a new GPU buffer).
 * It wraps two backend methods for the duration of the call (tfjs-backend-webgpu 4.22 backend_webgpu.js:
 * recordAndSubmit issues one dispatchWorkgroups, uploadToGPU copies values that live on the CPU).
 */

export interface WebGPUCounts {
  dispatches: number;
  byProgram: Record<string, number>;
  uploads: number;
  uploadBytes: number;
  /** Uploads by dtype and shape, e.g. 'float32[]' for scalars, 'float32[2,2,16,16]' for a dropout mask. */
  uploadsByShape: Record<string, number>;
}

interface Internals {
  recordAndSubmit(program: { constructor: { name: string }; name?: string }, ...rest: unknown[]): unknown;
  uploadToGPU(dataId: object): unknown;
  tensorMap: { get(dataId: object): { resource?: unknown; values?: ArrayLike<number> | null; shape: number[]; dtype: string } | undefined };
}

export async function countWebGPUWork<T>(run: () => Promise<T>): Promise<{ result: T; counts: WebGPUCounts }> {
  if (tf.getBackend() !== 'webgpu') throw new Error(`countWebGPUWork: the active backend is ${tf.getBackend()}, not webgpu`);
  const backend = tf.backend() as unknown as Internals;
  const counts: WebGPUCounts = { dispatches: 0, byProgram: {}, uploads: 0, uploadBytes: 0, uploadsByShape: {} };
  const record = backend.recordAndSubmit;
  const upload = backend.uploadToGPU;
  backend.recordAndSubmit = function (this: Internals, program, ...rest) {
    counts.dispatches++;
    // tfjs's programs are classes; Taskscope's fused ones (webgpuKernels.ts) are plain objects with a name.
    const name = program.constructor.name === 'Object' ? (program.name ?? 'Object') : program.constructor.name;
    counts.byProgram[name] = (counts.byProgram[name] ?? 0) + 1;
    return record.call(this, program, ...rest);
  };
  backend.uploadToGPU = function (this: Internals, dataId: object) {
    const d = this.tensorMap.get(dataId);
    if (d && d.resource == null && d.values) {
      counts.uploads++;
      counts.uploadBytes += d.values.length * 4;
      const key = `${d.dtype}[${d.shape.join(',')}]`;
      counts.uploadsByShape[key] = (counts.uploadsByShape[key] ?? 0) + 1;
    }
    return upload.call(this, dataId);
  };
  try {
    const result = await run();
    return { result, counts };
  } finally {
    backend.recordAndSubmit = record;
    backend.uploadToGPU = upload;
  }
}
