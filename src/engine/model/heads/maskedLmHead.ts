import * as tf from '@tensorflow/tfjs';
import type { BertConfig, NamedTensor } from '../../checkpoint/types.ts';
import { crossEntropyPerExample } from '../losses.ts';
import { activation, dense, embeddingLookup, layerNorm } from '../ops.ts';

/** HF names of the head's own tensors (the decoder weight is the encoder's word embedding, so it is not saved). */
export const MLM_TENSOR_NAMES = {
  denseWeight: 'cls.predictions.transform.dense.weight',
  denseBias: 'cls.predictions.transform.dense.bias',
  normWeight: 'cls.predictions.transform.LayerNorm.weight',
  normBias: 'cls.predictions.transform.LayerNorm.bias',
  bias: 'cls.predictions.bias',
} as const;

let counter = 0;

/**
 * logits = h·Eᵀ + b for h [n, H] and the tied embedding E [V, H]. Written out because the generic route
 * (dense over transpose(E)) moves three [V, H]-sized transposes through the backward pass; here the gradients
 * are dh = dy·E and dE = dyᵀ·h (only the small [n, V] dy is transposed), all plain matMuls (wasm's
 * transposed matMul is slow, docs/architecture.md, tfjs trap 2).
 */
const tiedDecoder = tf.customGrad((...args: unknown[]) => {
  const [h, E, b, save] = args as [tf.Tensor2D, tf.Tensor2D, tf.Tensor1D, tf.GradSaveFunc];
  save([h, E]);
  return {
    value: tf.add(tf.matMul(h, tf.transpose(E)), b),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [hs, Es] = saved as [tf.Tensor2D, tf.Tensor2D];
      const dy2 = dy as tf.Tensor2D;
      return [tf.matMul(dy2, Es), tf.matMul(tf.transpose(dy2), hs), tf.sum(dy2, 0)];
    },
  };
}) as (h: tf.Tensor2D, E: tf.Tensor2D, b: tf.Tensor1D) => tf.Tensor2D;

/**
 * HF `BertLMPredictionHead`: h = LayerNorm(act(W·x + b)), logits = h·Eᵀ + bias, with E the encoder's word
 * embedding [V, H] (tied, so its gradient gets both the input-embedding and the decoder contributions).
 * Only the chosen positions are scored ([n, V] instead of [B, T, V]).
 */
export class MaskedLmHead {
  private readonly kernel: tf.Variable; // [H, H] = HF weight transposed
  private readonly denseBias: tf.Variable;
  private readonly gamma: tf.Variable;
  private readonly beta: tf.Variable;
  private readonly outputBias: tf.Variable; // [V]
  private disposed = false;

  /**
   * `init`: HF tensors by canonical name (a checkpoint's `extraTensors`), or a seed for BERT's init
   * (dense weight ~ truncated N(0, initializer_range²), zero biases, LayerNorm 1/0).
   */
  constructor(
    readonly config: BertConfig,
    readonly wordEmbeddings: tf.Variable,
    init: ReadonlyMap<string, NamedTensor> | { seed: number },
  ) {
    const H = config.hiddenSize;
    const V = config.vocabSize;
    if (wordEmbeddings.shape[0] !== V || wordEmbeddings.shape[1] !== H) {
      throw new Error(`MaskedLmHead: word embeddings have shape [${wordEmbeddings.shape}], expected [${V}, ${H}] from config.json`);
    }
    const id = `mlm${counter++}`;
    const fromMap = init instanceof Map;
    const get = (name: string, shape: number[], fallback: () => tf.Tensor): tf.Tensor => {
      if (!fromMap) return fallback();
      const t = (init as ReadonlyMap<string, NamedTensor>).get(name);
      if (!t) throw new Error(`checkpoint: missing tensor ${name} (the masked-LM head)`);
      if (t.shape.join(',') !== shape.join(',')) throw new Error(`checkpoint: tensor ${name} has shape [${t.shape}], expected [${shape}] from config.json`);
      return tf.tensor(t.data, t.shape, 'float32');
    };
    const seed = fromMap ? 0 : (init as { seed: number }).seed;
    const make = (name: string, value: () => tf.Tensor) => tf.tidy(() => tf.variable(value(), true, `${id}/${name}`));
    this.kernel = make(MLM_TENSOR_NAMES.denseWeight, () =>
      tf.transpose(get(MLM_TENSOR_NAMES.denseWeight, [H, H], () => tf.truncatedNormal([H, H], 0, config.initializerRange, 'float32', seed))),
    );
    this.denseBias = make(MLM_TENSOR_NAMES.denseBias, () => get(MLM_TENSOR_NAMES.denseBias, [H], () => tf.zeros([H])));
    this.gamma = make(MLM_TENSOR_NAMES.normWeight, () => get(MLM_TENSOR_NAMES.normWeight, [H], () => tf.ones([H])));
    this.beta = make(MLM_TENSOR_NAMES.normBias, () => get(MLM_TENSOR_NAMES.normBias, [H], () => tf.zeros([H])));
    this.outputBias = make(MLM_TENSOR_NAMES.bias, () => get(MLM_TENSOR_NAMES.bias, [V], () => tf.zeros([V])));
  }

  /**
   * Logits [n, V] at flat positions `positions` (int32 [n], b·T + t) of `sequence` [B, T, H].
   * The row gather uses the scatter-gradient lookup (tf.gather's own gradient is missing on wasm).
   */
  logitsAt(sequence: tf.Tensor3D, positions: tf.Tensor1D): tf.Tensor2D {
    if (this.disposed) throw new Error('MaskedLmHead: used after dispose()');
    const H = this.config.hiddenSize;
    const rows = embeddingLookup(tf.reshape(sequence, [-1, H]) as tf.Tensor2D, positions) as tf.Tensor2D; // [n, H]
    return this.logits(rows);
  }

  /** Logits [n, V] of hidden rows [n, H]. */
  logits(rows: tf.Tensor2D): tf.Tensor2D {
    let h = dense(rows, this.kernel as tf.Tensor2D, this.denseBias as tf.Tensor1D);
    h = activation(h, this.config.hiddenAct);
    h = layerNorm(h, this.gamma as tf.Tensor1D, this.beta as tf.Tensor1D, this.config.layerNormEps);
    return tiedDecoder(h as tf.Tensor2D, this.wordEmbeddings as tf.Tensor2D, this.outputBias as tf.Tensor1D);
  }

  /** Mean cross-entropy over the scored positions (BERT's masked_lm_loss). */
  loss(logits: tf.Tensor2D, targets: tf.Tensor1D): tf.Scalar {
    return tf.mean(crossEntropyPerExample(logits, targets)) as tf.Scalar;
  }

  /** The head's own trainable variables under their HF names (the tied decoder weight belongs to the encoder). */
  namedVariables(): Map<string, tf.Variable> {
    return new Map([
      [MLM_TENSOR_NAMES.denseWeight, this.kernel],
      [MLM_TENSOR_NAMES.denseBias, this.denseBias],
      [MLM_TENSOR_NAMES.normWeight, this.gamma],
      [MLM_TENSOR_NAMES.normBias, this.beta],
      [MLM_TENSOR_NAMES.bias, this.outputBias],
    ]);
  }

  /** HF-layout tensors (`cls.predictions.*`, dense weight [out, in]) for `saveBertCheckpoint`'s extraTensors. */
  toNamedTensors(): NamedTensor[] {
    const out: NamedTensor[] = [];
    for (const [name, v] of this.namedVariables()) {
      const t = v === this.kernel ? tf.transpose(v) : v;
      out.push({ name, shape: t.shape.slice(), dtype: 'F32', data: new Float32Array(t.dataSync() as Float32Array) });
      if (t !== v) t.dispose();
    }
    return out;
  }

  dispose() {
    if (this.disposed) return;
    for (const v of this.namedVariables().values()) v.dispose();
    this.disposed = true;
  }
}
