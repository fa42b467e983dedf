import * as tf from '@tensorflow/tfjs';
import { elementwiseProgram, float32, rowPerWorkgroupProgram, run, type Program } from './webgpuProgram.ts';
import { attentionKernelConfigs } from './webgpuAttentionKernels.ts';
import { adamKernelConfig } from './webgpuAdamKernel.ts';
import { registerAttentionSoftmaxGradient } from '../src/engine/model/kernels/attentionSoftmax.ts';
import { FUSED_DROPOUT, registerFusedDropoutGradient } from '../src/engine/model/kernels/fusedDropout.ts';
import {
  FUSED_GELU,
  FUSED_GELU_GRAD,
  FUSED_LAYER_NORM,
  FUSED_LAYER_NORM_GRAD_X,
  FUSED_LAYER_NORM_XHAT,
  registerFusedGradients,
} from '../src/engine/model/fusedOps.ts';

/**
 * Single-dispatch WebGPU kernels for the encoder's LayerNorm and exact GELU (tfjs's webgpu backend runs
 * their compositions as 5-10 dispatches each, forward and backward). They follow tfjs-backend-webgpu's own
 * program shape (src/softmax_webgpu.ts, src/unary_op_webgpu.ts): a row-per-workgroup reduction with a
 * shared-memory tree, and a flat element-wise program. erf is tfjs's Abramowitz-Stegun 7.1.26 form with
 * its constants (tfjs-core ops/erf_util.ts), so the fused GELU matches tf.erf on this backend.
 */

const ERF = `
fn erfAS(a : f32) -> f32 {
  let p = 0.3275911;
  let a1 = 0.254829592;
  let a2 = -0.284496736;
  let a3 = 1.421413741;
  let a4 = -1.453152027;
  let a5 = 1.061405429;
  let absA = abs(a);
  let t = 1.0 / (1.0 + p * absA);
  return sign(a) * (1.0 - (((((a5 * t + a4) * t) + a3) * t + a2) * t + a1) * t * exp(-absA * absA));
}`;

function elementwise(shaderKey: string, variableNames: string[], outputShape: number[], body: string, uniforms?: string): Program {
  return elementwiseProgram(shaderKey, variableNames, outputShape, body, uniforms, ERF);
}

const INV_SQRT2 = Math.SQRT1_2;
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

function geluProgram(shape: number[]): Program {
  return elementwise(
    'taskscope_gelu',
    ['X'],
    shape,
    `
          let x = getXByOutputIndex(index);
          setOutputAtIndex(index, 0.5 * x * (1.0 + erfAS(x * ${INV_SQRT2})));`,
  );
}

function geluGradProgram(shape: number[]): Program {
  return elementwise(
    'taskscope_gelu_grad',
    ['X', 'DY'],
    shape,
    `
          let x = getXByOutputIndex(index);
          let dy = getDYByOutputIndex(index);
          let d = 0.5 * (1.0 + erfAS(x * ${INV_SQRT2})) + x * ${INV_SQRT_2PI} * exp(-0.5 * x * x);
          setOutputAtIndex(index, dy * d);`,
  );
}

/** x · ⌊r + p⌋ / p, in tf.dropout's order of operations (fusedDropout.ts). */
function dropoutProgram(shape: number[]): Program {
  return elementwise(
    'taskscope_dropout',
    ['X', 'R'],
    shape,
    `
          let keep = floor(getRByOutputIndex(index) + uniforms.keepProb) / uniforms.keepProb;
          setOutputAtIndex(index, getXByOutputIndex(index) * keep);`,
    'keepProb : f32,',
  );
}

const BLOCK = 64;

/**
 * Row statistics shared by the LayerNorm programs: one workgroup per row of x [rows, H]; `rowStats` leaves
 * the row's mean and 1/√(σ² + ε) in workgroup memory (mean first, then the variance of the centred row,
 * as the generic path computes them).
 */
const ROW_STATS = `
      var<workgroup> buf : array<f32, ${BLOCK}>;
      var<workgroup> meanShared : f32;
      var<workgroup> rstdShared : f32;
      var<workgroup> sumShared : f32;
      const blockSize = ${BLOCK};
      fn reduceSum(tid : i32, value : f32) -> f32 {
        buf[tid] = value;
        workgroupBarrier();
        for (var size = blockSize >> 1; size > 0; size = size >> 1) {
          if (tid < size) {
            buf[tid] = buf[tid] + buf[tid + size];
          }
          workgroupBarrier();
        }
        if (tid == 0) {
          sumShared = buf[0];
        }
        workgroupBarrier();
        return sumShared;
      }
      fn rowStats(row : i32, tid : i32, cols : i32) {
        var s = 0.0;
        for (var col = tid; col < cols; col += blockSize) {
          s += getX(row, col);
        }
        let mean = reduceSum(tid, s) / f32(cols);
        var v = 0.0;
        for (var col = tid; col < cols; col += blockSize) {
          let d = getX(row, col) - mean;
          v += d * d;
        }
        let variance = reduceSum(tid, v) / f32(cols);
        if (tid == 0) {
          meanShared = mean;
          rstdShared = inverseSqrt(variance + uniforms.eps);
        }
        workgroupBarrier();
      }`;

function rowProgram(shaderKey: string, variableNames: string[], shape: [number, number], body: string): Program {
  return rowPerWorkgroupProgram(shaderKey, variableNames, shape, BLOCK, 'eps : f32,', ROW_STATS, `rowStats(row, tid, cols);\n${body}`);
}

/** y = γ·x̂ + β, one workgroup per row. */
function layerNormProgram(shape: [number, number]): Program {
  return rowProgram(
    'taskscope_layer_norm',
    ['X', 'Gamma', 'Beta'],
    shape,
    `
        for (var col = tid; col < cols; col += blockSize) {
          let xhat = (getX(row, col) - meanShared) * rstdShared;
          setOutputAtCoords(row, col, xhat * getGamma(col) + getBeta(col));
        }`,
  );
}

/** x̂ = (x − μ)·r for dγ = Σ dy·x̂, one workgroup per row. */
function layerNormXhatProgram(shape: [number, number]): Program {
  return rowProgram(
    'taskscope_layer_norm_xhat',
    ['X'],
    shape,
    `
        for (var col = tid; col < cols; col += blockSize) {
          setOutputAtCoords(row, col, (getX(row, col) - meanShared) * rstdShared);
        }`,
  );
}

/** dx = r·(g − mean(g) − x̂·mean(g·x̂)), g = dy·γ, one workgroup per row. */
function layerNormGradXProgram(shape: [number, number]): Program {
  return rowProgram(
    'taskscope_layer_norm_grad_x',
    ['X', 'Gamma', 'DY'],
    shape,
    `
        var sg = 0.0;
        var sgx = 0.0;
        for (var col = tid; col < cols; col += blockSize) {
          let g = getDY(row, col) * getGamma(col);
          sg += g;
          sgx += g * (getX(row, col) - meanShared) * rstdShared;
        }
        let meanG = reduceSum(tid, sg) / f32(cols);
        let meanGX = reduceSum(tid, sgx) / f32(cols);
        for (var col = tid; col < cols; col += blockSize) {
          let xhat = (getX(row, col) - meanShared) * rstdShared;
          let g = getDY(row, col) * getGamma(col);
          setOutputAtCoords(row, col, rstdShared * (g - meanG - xhat * meanGX));
        }`,
  );
}

function configs(): tf.KernelConfig[] {
  return [
    ...attentionKernelConfigs(),
    adamKernelConfig(),
    {
      kernelName: FUSED_DROPOUT,
      backendName: 'webgpu',
      kernelFunc: ({ inputs, backend, attrs }) => {
        const x = inputs.x as tf.TensorInfo;
        const r = inputs.r as tf.TensorInfo;
        float32(FUSED_DROPOUT, x, r);
        if (x.shape.join() !== r.shape.join()) throw new Error(`${FUSED_DROPOUT}: x [${x.shape}] and r [${r.shape}] differ in shape`);
        const keepProb = (attrs as unknown as { keepProb: number }).keepProb;
        return run(backend)(dropoutProgram(x.shape), [x, r], 'float32', [{ type: 'float32', data: [keepProb] }]);
      },
    },
    {
      kernelName: FUSED_GELU,
      backendName: 'webgpu',
      kernelFunc: ({ inputs, backend }) => {
        const x = inputs.x as tf.TensorInfo;
        float32(FUSED_GELU, x);
        return run(backend)(geluProgram(x.shape), [x], 'float32');
      },
    },
    {
      kernelName: FUSED_GELU_GRAD,
      backendName: 'webgpu',
      kernelFunc: ({ inputs, backend }) => {
        const x = inputs.x as tf.TensorInfo;
        const dy = inputs.dy as tf.TensorInfo;
        float32(FUSED_GELU_GRAD, x, dy);
        return run(backend)(geluGradProgram(x.shape), [x, dy], 'float32');
      },
    },
    {
      kernelName: FUSED_LAYER_NORM,
      backendName: 'webgpu',
      kernelFunc: ({ inputs, backend, attrs }) => {
        const x = inputs.x as tf.TensorInfo;
        const gamma = inputs.gamma as tf.TensorInfo;
        const beta = inputs.beta as tf.TensorInfo;
        float32(FUSED_LAYER_NORM, x, gamma, beta);
        if (x.shape.length !== 2) throw new Error(`${FUSED_LAYER_NORM}: expects x [rows, H], got [${x.shape}]`);
        const eps = (attrs as unknown as { eps: number }).eps;
        return run(backend)(layerNormProgram(x.shape as [number, number]), [x, gamma, beta], 'float32', [{ type: 'float32', data: [eps] }]);
      },
    },
    {
      kernelName: FUSED_LAYER_NORM_XHAT,
      backendName: 'webgpu',
      kernelFunc: ({ inputs, backend, attrs }) => {
        const x = inputs.x as tf.TensorInfo;
        float32(FUSED_LAYER_NORM_XHAT, x);
        const eps = (attrs as unknown as { eps: number }).eps;
        return run(backend)(layerNormXhatProgram(x.shape as [number, number]), [x], 'float32', [{ type: 'float32', data: [eps] }]);
      },
    },
    {
      kernelName: FUSED_LAYER_NORM_GRAD_X,
      backendName: 'webgpu',
      kernelFunc: ({ inputs, backend, attrs }) => {
        const x = inputs.x as tf.TensorInfo;
        const gamma = inputs.gamma as tf.TensorInfo;
        const dy = inputs.dy as tf.TensorInfo;
        float32(FUSED_LAYER_NORM_GRAD_X, x, gamma, dy);
        const eps = (attrs as unknown as { eps: number }).eps;
        return run(backend)(layerNormGradXProgram(x.shape as [number, number]), [x, gamma, dy], 'float32', [{ type: 'float32', data: [eps] }]);
      },
    },
  ];
}

/** Registers the fused kernels (LayerNorm, GELU, attention softmax, dropout, Adam step) on the webgpu backend (idempotent). */
export function registerWebGPUKernels(): void {
  registerFusedGradients();
  registerAttentionSoftmaxGradient();
  registerFusedDropoutGradient();
  for (const c of configs()) if (!tf.getKernel(c.kernelName, 'webgpu')) tf.registerKernel(c);
}

/** Removes them again, so ops.ts and attentionProbs take the generic path (exactness tests and dispatch counts compare both). */
export function unregisterWebGPUKernels(): void {
  for (const c of configs()) if (tf.getKernel(c.kernelName, 'webgpu')) tf.unregisterKernel(c.kernelName, 'webgpu');
}
