import * as tf from '@tensorflow/tfjs';
import { registerGradientOnce } from './registerGradientOnce.ts';

/** What tfjs passes a kernel function (typed loosely: tfjs's own KernelFunc type wants its backend classes). */
export type WasmKernelFunc = (args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs: unknown }) => tf.TensorInfo | tf.TensorInfo[];

const registered = new Set<string>();

/** Registers one of our wasm kernels, and its gradient when given, on first use (once per kernel name). */
export function registerWasmKernelOnce(kernelName: string, kernelFunc: WasmKernelFunc, gradFunc?: tf.GradConfig['gradFunc']): void {
  if (registered.has(kernelName)) return;
  registered.add(kernelName);
  tf.registerKernel({ kernelName, backendName: 'wasm', kernelFunc: kernelFunc as unknown as tf.KernelFunc });
  if (gradFunc) registerGradientOnce({ kernelName, gradFunc });
}
