import type * as tf from '@tensorflow/tfjs';
import { webgpu_util } from '@tensorflow/tfjs-backend-webgpu';

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

/**
 * A program with one workgroup of `block` threads per row of a [rows, cols] output (tfjs's SoftmaxProgram
 * layout): `declarations` (workgroup memory, helper functions) come first, then `body` runs with row, tid (the
 * thread's index in the workgroup) and cols in scope.
 */
export function rowPerWorkgroupProgram(
  name: string,
  variableNames: string[],
  shape: [number, number],
  block: number,
  uniforms: string,
  declarations: string,
  body: string,
): Program {
  return {
    name,
    variableNames,
    outputShape: shape,
    shaderKey: name,
    dispatchLayout: webgpu_util.flatDispatchLayout(shape),
    dispatch: [shape[0], 1, 1],
    workgroupSize: [block, 1, 1],
    uniforms,
    getUserCode: () => `
      ${declarations}
      fn main(index : i32) {
        let row = index / ${block};
        let tid = i32(localId.x);
        let cols = uniforms.outShape[1];
        ${body}
      }`,
  };
}

/** A flat element-wise program over `outputShape` (tfjs's UnaryOpProgram layout); `body` sees `index`. */
export function elementwiseProgram(name: string, variableNames: string[], outputShape: number[], body: string, uniforms?: string, declarations = ''): Program {
  const workgroupSize: [number, number, number] = [128, 1, 1];
  const dispatchLayout = webgpu_util.flatDispatchLayout(outputShape);
  return {
    name,
    variableNames,
    outputShape,
    shaderKey: name,
    dispatchLayout,
    dispatch: webgpu_util.computeDispatch(dispatchLayout, outputShape, workgroupSize),
    workgroupSize,
    size: true,
    uniforms,
    getUserCode: () => `
      ${declarations}
      fn main(index : i32) {
        if (index < uniforms.size) {
          ${body}
        }
      }`,
  };
}
