import * as tf from '@tensorflow/tfjs';
import { dense } from '../ops.ts';

/** Serializable weights of a head's linear layer, PyTorch layout: W [out, in], b [out]. */
export interface LinearSnapshot {
  W: number[][];
  b: number[];
}

let counter = 0;

/** A linear layer y = x·Wᵀ + b owned by a task head. Init as MT-DNN: W ~ N(0, 0.02²), b = 0. */
export class LinearLayer {
  readonly kernel: tf.Variable; // [in, out]
  readonly bias: tf.Variable; // [out]
  constructor(
    readonly name: string,
    inDim: number,
    outDim: number,
    init: LinearSnapshot | { seed: number; std?: number },
  ) {
    const id = `${name}#${counter++}`;
    if ('W' in init) {
      if (init.W.length !== outDim || init.W[0]?.length !== inDim || init.b.length !== outDim) {
        throw new Error(`${name}: weights have shape [${init.W.length}, ${init.W[0]?.length ?? 0}], expected [${outDim}, ${inDim}]`);
      }
      this.kernel = tf.tidy(() => tf.variable(tf.transpose(tf.tensor2d(init.W)), true, `${id}/kernel`));
      this.bias = tf.tidy(() => tf.variable(tf.tensor1d(init.b), true, `${id}/bias`));
    } else {
      this.kernel = tf.tidy(() => tf.variable(tf.randomNormal([inDim, outDim], 0, init.std ?? 0.02, 'float32', init.seed), true, `${id}/kernel`));
      this.bias = tf.tidy(() => tf.variable(tf.zeros([outDim]), true, `${id}/bias`));
    }
  }
  apply(x: tf.Tensor): tf.Tensor {
    return dense(x, this.kernel as tf.Tensor2D, this.bias as tf.Tensor1D);
  }
  namedVariables(prefix: string): Map<string, tf.Variable> {
    return new Map([
      [`${prefix}.weight`, this.kernel],
      [`${prefix}.bias`, this.bias],
    ]);
  }
  snapshot(): LinearSnapshot {
    const kernelT = tf.transpose(this.kernel);
    const W = kernelT.arraySync() as number[][];
    kernelT.dispose();
    return { W, b: this.bias.arraySync() as number[] };
  }
  dispose() {
    this.kernel.dispose();
    this.bias.dispose();
  }
}
