import type * as tf from '@tensorflow/tfjs';
import { ATTENTION_SOFTMAX, ATTENTION_SOFTMAX_GRAD, type AttentionSoftmaxAttrs } from '../src/engine/model/kernels/attentionSoftmax.ts';
import { float32, rowPerWorkgroupProgram, run, type Program } from './webgpuProgram.ts';

/**
 * The attention softmax as one WebGPU dispatch each way (src/engine/model/kernels/attentionSoftmax.ts):
 * forward y = softmax(s/c + bias) per row, backward ∂L/∂s = y ⊙ (dy − Σ dy ⊙ y)/c per row. One workgroup
 * per score row, as tfjs-backend-webgpu's SoftmaxProgram (src/softmax_webgpu.ts): max, then Σ exp(z − max),
 * then exp(z − max)/Σ, with z formed in the same order as the generic Div and Add (s/c, then + bias).
 */

const BLOCK = 64;

/** A max- or sum-reduction of one value per thread over the workgroup; every thread gets the result. */
const REDUCE_ROW = `
      var<workgroup> partials : array<f32, ${BLOCK}>;
      var<workgroup> rowResult : f32;
      const blockSize = ${BLOCK};
      fn reduceRow(tid : i32, value : f32, takeMax : bool) -> f32 {
        partials[tid] = value;
        workgroupBarrier();
        for (var half = blockSize >> 1; half > 0; half = half >> 1) {
          if (tid < half) {
            let other = partials[tid + half];
            partials[tid] = select(partials[tid] + other, max(partials[tid], other), takeMax);
          }
          workgroupBarrier();
        }
        if (tid == 0) {
          rowResult = partials[0];
        }
        workgroupBarrier();
        return rowResult;
      }`;

function rowsProgram(name: string, variableNames: string[], shape: [number, number], uniforms: string, body: string): Program {
  return rowPerWorkgroupProgram(name, variableNames, shape, BLOCK, uniforms, REDUCE_ROW, body);
}

/** y = softmax(scores/divisor + bias[row's batch]) over each row of scores [B·A·T, T]. */
function attentionSoftmaxProgram(shape: [number, number]): Program {
  return rowsProgram(
    'taskscope_attention_softmax',
    ['Scores', 'Bias'],
    shape,
    'divisor : f32, rowsPerBatch : i32,',
    `
        let batch = row / uniforms.rowsPerBatch;
        var threadMax = -3.402823e+38f;
        for (var col = tid; col < cols; col += blockSize) {
          threadMax = max(threadMax, getScores(row, col) / uniforms.divisor + getBias(batch, col));
        }
        let rowMax = reduceRow(tid, threadMax, true);
        var threadSum = 0.0;
        for (var col = tid; col < cols; col += blockSize) {
          threadSum += exp(getScores(row, col) / uniforms.divisor + getBias(batch, col) - rowMax);
        }
        let rowSum = reduceRow(tid, threadSum, false);
        for (var col = tid; col < cols; col += blockSize) {
          setOutputAtCoords(row, col, exp(getScores(row, col) / uniforms.divisor + getBias(batch, col) - rowMax) / rowSum);
        }`,
  );
}

/** ∂L/∂scores = (dy ⊙ y − (Σ_row dy ⊙ y) ⊙ y) / divisor. */
function attentionSoftmaxGradProgram(shape: [number, number]): Program {
  return rowsProgram(
    'taskscope_attention_softmax_grad',
    ['Y', 'DY'],
    shape,
    'divisor : f32,',
    `
        var threadDot = 0.0;
        for (var col = tid; col < cols; col += blockSize) {
          threadDot += getDY(row, col) * getY(row, col);
        }
        let rowDot = reduceRow(tid, threadDot, false);
        for (var col = tid; col < cols; col += blockSize) {
          let y = getY(row, col);
          setOutputAtCoords(row, col, (getDY(row, col) * y - rowDot * y) / uniforms.divisor);
        }`,
  );
}

function rows(name: string, x: tf.TensorInfo): [number, number] {
  if (x.shape.length !== 2) throw new Error(`${name}: expects [rows, T], got [${x.shape}]`);
  return x.shape as [number, number];
}

export function attentionKernelConfigs(): tf.KernelConfig[] {
  return [
    {
      kernelName: ATTENTION_SOFTMAX,
      backendName: 'webgpu',
      kernelFunc: ({ inputs, backend, attrs }) => {
        const scores = inputs.scores as tf.TensorInfo;
        const bias = inputs.bias as tf.TensorInfo;
        float32(ATTENTION_SOFTMAX, scores, bias);
        const { divisor, rowsPerBatch } = attrs as unknown as AttentionSoftmaxAttrs;
        const shape = rows(ATTENTION_SOFTMAX, scores);
        if (bias.shape.length !== 2 || bias.shape[1] !== shape[1] || bias.shape[0]! * rowsPerBatch !== shape[0]) {
          throw new Error(`${ATTENTION_SOFTMAX}: bias [${bias.shape}] does not fit scores [${shape}] at ${rowsPerBatch} rows per batch`);
        }
        return run(backend)(attentionSoftmaxProgram(shape), [scores, bias], 'float32', [
          { type: 'float32', data: [divisor] },
          { type: 'int32', data: [rowsPerBatch] },
        ]);
      },
    },
    {
      kernelName: ATTENTION_SOFTMAX_GRAD,
      backendName: 'webgpu',
      kernelFunc: ({ inputs, backend, attrs }) => {
        const y = inputs.y as tf.TensorInfo;
        const dy = inputs.dy as tf.TensorInfo;
        float32(ATTENTION_SOFTMAX_GRAD, y, dy);
        const { divisor } = attrs as unknown as AttentionSoftmaxAttrs;
        return run(backend)(attentionSoftmaxGradProgram(rows(ATTENTION_SOFTMAX_GRAD, y)), [y, dy], 'float32', [{ type: 'float32', data: [divisor] }]);
      },
    },
  ];
}
