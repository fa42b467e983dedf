import type * as tf from '@tensorflow/tfjs';

/**
 * The shape of a tfjs-backend-webgpu program as its backend's runWebGPUProgram reads it (tfjs-backend-webgpu
 * 4.22 src/webgpu_program.ts), for Taskscope's own single-dispatch kernels (webgpuKernels.ts,
 * webgpuAttentionKernels.ts).
 */
export interface Program {
  /** Stable name for dispatch counts (tfjs rewrites shaderKey with shapes and dtypes before compiling). */
  name: string;
  variableNames: string[];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number];
  size?: boolean;
  uniforms?: string;
  getUserCode(): string;
}

export type Uniform = { type: 'float32' | 'int32'; data: number[] };

export type Run = (program: Program, inputs: tf.TensorInfo[], dtype: 'float32', uniforms?: Uniform[]) => tf.TensorInfo;

/** The webgpu backend's program runner, bound to it. */
export function run(backend: unknown): Run {
  const b = backend as unknown as { runWebGPUProgram: Run };
  return b.runWebGPUProgram.bind(b);
}

export function float32(name: string, ...xs: tf.TensorInfo[]): void {
  for (const x of xs) if (x.dtype !== 'float32') throw new Error(`${name}: expects float32 inputs, got ${x.dtype}`);
}
