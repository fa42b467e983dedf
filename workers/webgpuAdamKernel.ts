import type * as tf from '@tensorflow/tfjs';
import { FUSED_ADAM_STEP, type AdamStepAttrs } from '../src/engine/train/optim/fusedAdam.ts';
import { elementwiseProgram, float32, run, type Program, type Uniform } from './webgpuProgram.ts';

/**
 * The Adam(W) update (src/engine/train/optim/fusedAdam.ts) as three element-wise WebGPU dispatches, one per
 * output (m′, v′, θ′; a tfjs webgpu program writes one tensor), with the step's scalars as uniforms instead
 * of uploaded tensors. Each line is one of the generic path's ops, in its order, so the results are the
 * same float32 operations.
 */

const UNIFORMS = 'beta1 : f32, oneMinusBeta1 : f32, beta2 : f32, oneMinusBeta2 : f32, sqrtBc2 : f32, eps : f32, stepSize : f32, decay : f32,';

/** Every program computes all three (so each reads all four inputs, which a pipeline's 'auto' layout needs) and writes one. */
const UPDATE = `
          let g = getGByOutputIndex(index);
          let mNew = getMByOutputIndex(index) * uniforms.beta1 + g * uniforms.oneMinusBeta1;
          let vNew = getVByOutputIndex(index) * uniforms.beta2 + (g * g) * uniforms.oneMinusBeta2;
          var theta = getThetaByOutputIndex(index);
          if (uniforms.decay > 0.0) {
            theta = theta - theta * uniforms.decay;
          }
          let denom = sqrt(vNew) / uniforms.sqrtBc2 + uniforms.eps;
          let thetaNew = theta - (mNew / denom) * uniforms.stepSize;`;

function adamProgram(output: 'mNew' | 'vNew' | 'thetaNew', shape: number[]): Program {
  return elementwiseProgram(`taskscope_adam_${output}`, ['Theta', 'G', 'M', 'V'], shape, `${UPDATE}\n          setOutputAtIndex(index, ${output});`, UNIFORMS);
}

export function adamKernelConfig(): tf.KernelConfig {
  return {
    kernelName: FUSED_ADAM_STEP,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const xs = (['theta', 'grad', 'm', 'v'] as const).map((k) => inputs[k] as tf.TensorInfo);
      float32(FUSED_ADAM_STEP, ...xs);
      const shape = xs[0]!.shape;
      for (const x of xs) if (x.shape.join() !== shape.join()) throw new Error(`${FUSED_ADAM_STEP}: inputs differ in shape ([${x.shape}] vs [${shape}])`);
      const a = attrs as unknown as AdamStepAttrs;
      const values = [a.beta1, 1 - a.beta1, a.beta2, 1 - a.beta2, a.sqrtBc2, a.eps, a.stepSize, a.decay];
      const uniforms: Uniform[] = values.map((v) => ({ type: 'float32', data: [v] }));
      return (['mNew', 'vNew', 'thetaNew'] as const).map((o) => run(backend)(adamProgram(o, shape), xs, 'float32', uniforms));
    },
  };
}
