import * as tf from '@tensorflow/tfjs';
import { dense } from '../ops.ts';

/** PyTorch GRUCell weights in its layout: weight_* [3H, in], bias_* [3H], gate blocks in the order r, z, n. */
export interface GruSnapshot {
  weight_ih: number[][];
  weight_hh: number[][];
  bias_ih: number[];
  bias_hh: number[];
}

let counter = 0;

/**
 * torch.nn.GRUCell:
 *   r = σ(W_ir x + b_ir + W_hr h + b_hr),  z = σ(W_iz x + b_iz + W_hz h + b_hz),
 *   n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)),  h' = (1 − z) ⊙ n + z ⊙ h.
 * Init is torch's default, every weight and bias ~ U(−1/√H, 1/√H): MT-DNN's N(0, 0.02²) init touches only
 * nn.Linear and nn.Embedding, so its SAN GRU keeps this default.
 */
export class GruCell {
  readonly kernelIh: tf.Variable; // [in, 3H]
  readonly kernelHh: tf.Variable; // [H, 3H]
  readonly biasIh: tf.Variable;
  readonly biasHh: tf.Variable;

  constructor(
    readonly name: string,
    readonly inputSize: number,
    readonly hiddenSize: number,
    init: GruSnapshot | { seed: number },
  ) {
    const id = `${name}#${counter++}`;
    const H = hiddenSize;
    if ('weight_ih' in init) {
      const check = (field: string, m: number[][] | number[], rows: number, cols?: number) => {
        const r = m.length;
        const c = cols === undefined ? undefined : (m as number[][])[0]?.length;
        if (r !== rows || c !== cols)
          throw new Error(`${name}: ${field} has shape [${r}${c === undefined ? '' : `, ${c}`}], expected [${rows}${cols === undefined ? '' : `, ${cols}`}]`);
      };
      check('weight_ih', init.weight_ih, 3 * H, inputSize);
      check('weight_hh', init.weight_hh, 3 * H, H);
      check('bias_ih', init.bias_ih, 3 * H);
      check('bias_hh', init.bias_hh, 3 * H);
      this.kernelIh = tf.tidy(() => tf.variable(tf.transpose(tf.tensor2d(init.weight_ih)), true, `${id}/weight_ih`));
      this.kernelHh = tf.tidy(() => tf.variable(tf.transpose(tf.tensor2d(init.weight_hh)), true, `${id}/weight_hh`));
      this.biasIh = tf.tidy(() => tf.variable(tf.tensor1d(init.bias_ih), true, `${id}/bias_ih`));
      this.biasHh = tf.tidy(() => tf.variable(tf.tensor1d(init.bias_hh), true, `${id}/bias_hh`));
    } else {
      const a = 1 / Math.sqrt(H);
      const u = (shape: number[], k: number) => tf.randomUniform(shape, -a, a, 'float32', init.seed + k);
      this.kernelIh = tf.tidy(() => tf.variable(u([inputSize, 3 * H], 0), true, `${id}/weight_ih`));
      this.kernelHh = tf.tidy(() => tf.variable(u([H, 3 * H], 1), true, `${id}/weight_hh`));
      this.biasIh = tf.tidy(() => tf.variable(u([3 * H], 2), true, `${id}/bias_ih`));
      this.biasHh = tf.tidy(() => tf.variable(u([3 * H], 3), true, `${id}/bias_hh`));
    }
  }

  /** x [B, in], h [B, H] → h' [B, H]. */
  apply(x: tf.Tensor2D, h: tf.Tensor2D): tf.Tensor2D {
    const gi = dense(x, this.kernelIh as tf.Tensor2D, this.biasIh as tf.Tensor1D);
    const gh = dense(h, this.kernelHh as tf.Tensor2D, this.biasHh as tf.Tensor1D);
    const [ir, iz, inn] = tf.split(gi, 3, 1);
    const [hr, hz, hn] = tf.split(gh, 3, 1);
    const r = tf.sigmoid(tf.add(ir, hr));
    const z = tf.sigmoid(tf.add(iz, hz));
    const n = tf.tanh(tf.add(inn, tf.mul(r, hn)));
    return tf.add(tf.mul(tf.sub(1, z), n), tf.mul(z, h)) as tf.Tensor2D;
  }

  namedVariables(prefix: string): Map<string, tf.Variable> {
    return new Map([
      [`${prefix}.weight_ih`, this.kernelIh],
      [`${prefix}.weight_hh`, this.kernelHh],
      [`${prefix}.bias_ih`, this.biasIh],
      [`${prefix}.bias_hh`, this.biasHh],
    ]);
  }

  snapshot(): GruSnapshot {
    const [weight_ih, weight_hh] = tf
      .tidy(() => [tf.transpose(this.kernelIh), tf.transpose(this.kernelHh)])
      .map((t) => {
        const a = t.arraySync() as number[][];
        t.dispose();
        return a;
      });
    return { weight_ih, weight_hh, bias_ih: this.biasIh.arraySync() as number[], bias_hh: this.biasHh.arraySync() as number[] };
  }

  dispose() {
    for (const v of [this.kernelIh, this.kernelHh, this.biasIh, this.biasHh]) v.dispose();
  }
}
