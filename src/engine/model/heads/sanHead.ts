import * as tf from '@tensorflow/tfjs';
import { Rng } from '../../runtime/rng.ts';
import { crossEntropyPerExample, weightedMean } from '../losses.ts';
import { GruCell, type GruSnapshot } from './gruCell.ts';
import { LinearLayer, type LinearSnapshot } from './linearLayer.ts';
import type { HeadCallOptions, HeadFeatures, HeadSnapshot, TaskHead } from './taskHead.ts';

/**
 * MT-DNN's stochastic answer network (docs/methods.md §1.4.2, `module/san.py`), yml-era convention (Taskscope decision 2):
 * memory X = the sequence output over the premise (real tokens of type 0), initial state s₀ = linear
 * self-attention over the hypothesis (real tokens of type 1). K turns of bilinear attention + GRU; each turn's
 * classifier reads the state from *before* its GRU update. Output: log((1/K) Σ_k M_k · softmax(score_k)),
 * log-probabilities with stochastic prediction dropout M at training (all ones at eval); cross-entropy on
 * top re-normalises them, as MT-DNN does. Settings as train.py: answer_att_type bilinear, rnn gru,
 * merge_opt 1, mem_type 1, mem_cum_type simple, no weight norm.
 * Init: nn.Linear weights ~ N(0, 0.02²) with zero biases (MT-DNN's init); the GRU keeps torch's U(±1/√H).
 * A head made with { seed } uses the tfjs seeds seed … seed + 6.
 */

export interface SanOptions {
  /** answer_num_turn K (5). */
  numTurns?: number;
  /** answer_mem_drop_p: stochastic prediction dropout of whole turns (0.1). */
  memDropP?: number;
}

/** `HeadSnapshot.layers` of a SAN head. The turn count and prediction-dropout rate travel with the weights. */
export interface SanLayers {
  query_wsum: LinearSnapshot;
  attn: LinearSnapshot;
  classifier: LinearSnapshot;
  'rnn.weight_ih': number[][];
  'rnn.weight_hh': number[][];
  'rnn.bias_ih': number[];
  'rnn.bias_hh': number[];
  num_turn: number[];
  mem_drop_p: number[];
}

/** What one forward pass computed, for tests and analysis. */
export interface SanTrace {
  /** log((1/K) Σ_k M_k softmax(score_k)) [B, C]. */
  output: tf.Tensor2D;
  /** score_k [B, C], k = 0 … K−1 (logits of each turn). */
  scores: tf.Tensor2D[];
  /** s₀ [B, H]. */
  initialState: tf.Tensor2D;
  /** The prediction-dropout mask M [B, K] (scaled; ones at eval). */
  turnMask: tf.Tensor2D;
}

/** Large negative for masked positions: exp() of it is exactly 0, like MT-DNN's −inf, without NaN for an all-masked row. */
const MASKED = -1e30;

/**
 * MT-DNN's DropoutWrapper mask: on [B, T, H] one Bernoulli(1 − p) draw per [B, H], shared by all positions
 * ("variational"), shape [B, 1, H]; on [B, H] one per entry (ordinary dropout). Scaled by 1/(1 − p).
 */
export function dropoutMask(shape: readonly number[], p: number, seed?: number): tf.Tensor {
  const keep = 1 - p;
  const maskShape = shape.length === 3 ? [shape[0], 1, shape[2]] : [...shape];
  return tf.div(tf.floor(tf.add(tf.randomUniform(maskShape, 0, 1, 'float32', seed), keep)), keep);
}

/** DropoutWrapper: x · dropoutMask(x.shape); identity at eval or p = 0. */
export function variationalDropout(x: tf.Tensor, p: number, training: boolean, seed?: number): tf.Tensor {
  if (!training || p <= 0) return x;
  return tf.mul(x, dropoutMask(x.shape, p, seed));
}

/** softmax over positions of scores [B, T] where valid [B, T] is 1, others excluded. */
function maskedSoftmax(scores: tf.Tensor, valid: tf.Tensor): tf.Tensor2D {
  return tf.softmax(tf.add(scores, tf.mul(tf.sub(1, valid), MASKED))) as tf.Tensor2D;
}

let unseeded = 0;

export class SanHead implements TaskHead {
  readonly kind = 'san' as const;
  readonly numTurns: number;
  readonly memDropP: number;
  private readonly queryWsum: LinearLayer; // w₀, b₀: H → 1
  private readonly attn: LinearLayer; // W_a, b_a: H → H
  private readonly classifier: LinearLayer; // W_c, b_c: 4H → C
  private readonly rnn: GruCell;

  constructor(
    readonly task: string,
    readonly hiddenSize: number,
    readonly numLabels: number,
    readonly dropoutRate = 0.1,
    opts: SanOptions = {},
    init: SanLayers | { seed: number } = { seed: 0 },
  ) {
    const fromSnapshot = 'query_wsum' in init;
    this.numTurns = fromSnapshot ? init.num_turn[0] : (opts.numTurns ?? 5);
    this.memDropP = fromSnapshot ? init.mem_drop_p[0] : (opts.memDropP ?? 0.1);
    if (!Number.isInteger(this.numTurns) || this.numTurns < 1) throw new Error(`${task}: SAN num_turn must be an integer >= 1, got ${this.numTurns}`);
    if (!(this.memDropP >= 0 && this.memDropP < 1)) throw new Error(`${task}: SAN mem_drop_p must be in [0, 1), got ${this.memDropP}`);
    if (numLabels < 2) throw new Error(`${task}: SAN needs at least 2 classes (with one its output is constant; use the linear head), got ${numLabels}`);
    const H = hiddenSize;
    const seed = fromSnapshot ? 0 : (init as { seed: number }).seed;
    const pick = <T>(snap: T | undefined, s: number): T | { seed: number } => (fromSnapshot ? snap! : { seed: s });
    const layers = fromSnapshot ? (init as SanLayers) : undefined;
    this.queryWsum = new LinearLayer(`${task}.san.query_wsum`, H, 1, pick(layers?.query_wsum, seed));
    this.attn = new LinearLayer(`${task}.san.attn`, H, H, pick(layers?.attn, seed + 1));
    this.classifier = new LinearLayer(`${task}.san.classifier`, 4 * H, numLabels, pick(layers?.classifier, seed + 2));
    this.rnn = new GruCell(
      `${task}.san.rnn`,
      H,
      H,
      layers
        ? ({
            weight_ih: layers['rnn.weight_ih'],
            weight_hh: layers['rnn.weight_hh'],
            bias_ih: layers['rnn.bias_ih'],
            bias_hh: layers['rnn.bias_hh'],
          } satisfies GruSnapshot)
        : { seed: seed + 3 },
    );
  }

  static fromSnapshot(s: HeadSnapshot, hiddenSize: number): SanHead {
    if (s.kind !== 'san') throw new Error(`${s.task}: snapshot is a ${s.kind} head, not san`);
    const need = ['query_wsum', 'attn', 'classifier', 'rnn.weight_ih', 'rnn.weight_hh', 'rnn.bias_ih', 'rnn.bias_hh', 'num_turn', 'mem_drop_p'];
    const missing = need.filter((k) => !(k in s.layers));
    if (missing.length) throw new Error(`${s.task}: SAN snapshot lacks layers ${missing.join(', ')}`);
    return new SanHead(s.task, hiddenSize, s.numLabels, s.dropout, {}, s.layers as unknown as SanLayers);
  }

  forward(f: HeadFeatures, o: HeadCallOptions): tf.Tensor2D {
    const t = this.trace(f, o);
    tf.dispose([...t.scores, t.initialState, t.turnMask]);
    return t.output;
  }

  /**
   * The forward pass with its intermediate values (the caller disposes them all). When `dropoutMasks` is given,
   * the masks drawn at training are pushed to it in the order used: the self-attention input, then per turn
   * the state for the bilinear attention, the memory for the attention, the classifier input, the GRU's state.
   */
  trace(f: HeadFeatures, o: HeadCallOptions, dropoutMasks?: tf.Tensor[]): SanTrace {
    const training = o.training;
    const baseSeed = o.dropoutSeed ?? (Date.now() + unseeded++) >>> 0;
    const rng = new Rng(`san/${baseSeed}`);
    const nextSeed = () => rng.nextUint32();
    const drop = (x: tf.Tensor): tf.Tensor => {
      if (!training || this.dropoutRate <= 0) return x;
      const m = dropoutMask(x.shape, this.dropoutRate, nextSeed());
      if (dropoutMasks) dropoutMasks.push(tf.keep(m));
      return tf.mul(x, m);
    };
    const K = this.numTurns;
    const X = f.sequence; // [B, T, H]
    const B = X.shape[0];

    return tf.tidy(() => {
      const real = tf.cast(f.attentionMask, 'float32');
      const type1 = tf.cast(tf.greater(f.tokenTypeIds, 0), 'float32');
      const premise = tf.mul(real, tf.sub(1, type1)); // [B, T]: memory positions
      const hypothesis = tf.mul(real, type1); // [B, T]: initial-state positions

      // s₀ = Σ_j a_j drop(X)_j with a = softmax_j(w₀·drop(X)_j + b₀) over the hypothesis (LinearSelfAttn).
      const Xq = drop(X);
      const a = maskedSoftmax(tf.squeeze(this.queryWsum.apply(Xq), [2]), hypothesis);
      const s0 = tf.sum(tf.mul(Xq, tf.expandDims(a, 2)), 1) as tf.Tensor2D;

      let s = s0;
      const scores: tf.Tensor2D[] = [];
      for (let k = 0; k < K; k++) {
        // BilinearFlatSim: att_j = drop(X)_j · (W_a drop(s) + b_a); x_k = Σ_j β_j X_j with X undropped.
        const Ws = this.attn.apply(drop(s)); // [B, H]
        const att = tf.sum(tf.mul(drop(X), tf.expandDims(Ws, 1)), 2); // [B, T]
        const beta = maskedSoftmax(att, premise);
        const x = tf.sum(tf.mul(X, tf.expandDims(beta, 2)), 1) as tf.Tensor2D;
        scores.push(this.classifier.apply(drop(tf.concat([x, s, tf.abs(tf.sub(x, s)), tf.mul(x, s)], 1))) as tf.Tensor2D);
        s = this.rnn.apply(x, drop(s) as tf.Tensor2D);
      }

      const M = tf.tensor2d(this.turnMask(B, training, rng), [B, K]);
      const probs = tf.stack(
        scores.map((sc) => tf.softmax(sc)),
        2,
      ); // [B, C, K]
      const output = tf.log(tf.mean(tf.mul(probs, tf.expandDims(M, 1)), 2)) as tf.Tensor2D;
      return { output, scores, initialState: s0, turnMask: M };
    });
  }

  /**
   * MT-DNN's generate_mask: at training each entry ~ Bernoulli(1 − p) except one uniformly chosen turn per
   * row forced to 1, all scaled by 1/(1 − p); at eval all ones.
   */
  private turnMask(B: number, training: boolean, rng: Rng): Float32Array {
    const K = this.numTurns;
    const m = new Float32Array(B * K).fill(1);
    if (!training) return m;
    const p = this.memDropP;
    for (let b = 0; b < B; b++) {
      for (let k = 0; k < K; k++) m[b * K + k] = rng.uniform() < 1 - p ? 1 : 0;
      m[b * K + rng.int(K)] = 1;
      for (let k = 0; k < K; k++) m[b * K + k] /= 1 - p;
    }
    return m;
  }

  perExampleLoss(logProbs: tf.Tensor, labels: tf.Tensor): tf.Tensor1D {
    return crossEntropyPerExample(logProbs, labels);
  }
  loss(logProbs: tf.Tensor, labels: tf.Tensor, weights?: tf.Tensor): tf.Scalar {
    return weightedMean(this.perExampleLoss(logProbs, labels), weights);
  }
  predict(logProbs: tf.Tensor): tf.Tensor1D {
    return tf.argMax(logProbs, -1) as tf.Tensor1D;
  }

  namedVariables(): Map<string, tf.Variable> {
    const p = `heads.${this.task}.san`;
    return new Map([
      ...this.queryWsum.namedVariables(`${p}.query_wsum.linear`),
      ...this.attn.namedVariables(`${p}.attn.linear`),
      ...this.rnn.namedVariables(`${p}.rnn`),
      ...this.classifier.namedVariables(`${p}.classifier.proj`),
    ]);
  }

  snapshot(): HeadSnapshot {
    const g = this.rnn.snapshot();
    const layers: SanLayers = {
      query_wsum: this.queryWsum.snapshot(),
      attn: this.attn.snapshot(),
      classifier: this.classifier.snapshot(),
      'rnn.weight_ih': g.weight_ih,
      'rnn.weight_hh': g.weight_hh,
      'rnn.bias_ih': g.bias_ih,
      'rnn.bias_hh': g.bias_hh,
      num_turn: [this.numTurns],
      mem_drop_p: [this.memDropP],
    };
    return { kind: this.kind, task: this.task, numLabels: this.numLabels, dropout: this.dropoutRate, layers: { ...layers } };
  }

  dispose() {
    this.queryWsum.dispose();
    this.attn.dispose();
    this.classifier.dispose();
    this.rnn.dispose();
  }
}
