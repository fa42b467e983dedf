import * as tf from '@tensorflow/tfjs';
import type { BertCheckpoint, BertConfig, NamedTensor } from '../checkpoint/types.ts';
import { createBertParams, bindingsToNamedTensors, type BertParams, type HfBinding, type LayerParams } from './bertWeights.ts';
import { activation, dense, dropout, embeddingLookup, layerNorm } from './ops.ts';
import { attentionContext } from './kernels/attentionMatMuls.ts';
import { mergeHeads, splitHeads } from './kernels/attentionHeads.ts';
import { attentionProbs } from './kernels/attentionSoftmax.ts';
import type { EncoderExtension, ExtensionContext } from './encoderExtension.ts';

/**
 * The BERT encoder (Devlin et al. 2019) in tfjs: embeddings → L post-LayerNorm transformer layers → pooler.
 * Shapes: B = batch, T = sequence length, H = hidden, A = heads, d = H/A, I = intermediate.
 */

export interface EncoderInput {
  inputIds: tf.Tensor2D; // int32 [B, T]
  tokenTypeIds: tf.Tensor2D; // int32 [B, T]
  attentionMask: tf.Tensor2D; // int32/float [B, T], 1 = real token
}

export interface ForwardOptions {
  /** [L, A]; multiplies each head's attention probabilities (Michel et al. 2019). */
  headMask?: tf.Tensor2D;
  training?: boolean;
  outputHiddenStates?: boolean;
  outputAttentions?: boolean;
  /** Base seed for this call's dropout masks (reproducible training). */
  dropoutSeed?: number;
  /** Which task the batch belongs to (model variants with task-specific parts read it). */
  taskId?: number;
  /** Added to the embedding output before layer 0 (SMART's adversarial perturbation). */
  embeddingDelta?: tf.Tensor;
}

export interface EncoderOutput {
  lastHiddenState: tf.Tensor3D; // [B, T, H]
  pooled: tf.Tensor2D; // [B, H]
  embeddingOutput: tf.Tensor3D; // [B, T, H], hiddenStates[0]
  hiddenStates?: tf.Tensor3D[]; // L+1 of [B, T, H]
  attentions?: tf.Tensor4D[]; // L of [B, A, T, T]
}

/** Additive attention bias: 0 for real keys, −10000 for padding (as BERT/HF), shape [B, 1, 1, T]. */
function attentionBias(mask: tf.Tensor2D): tf.Tensor4D {
  const [B, T] = mask.shape;
  return tf.reshape(tf.mul(tf.sub(1, tf.cast(mask, 'float32')), -10000), [B, 1, 1, T]);
}

export class BertEncoder {
  readonly config: BertConfig;
  readonly params: BertParams;
  readonly bindings: HfBinding[];
  extension: EncoderExtension | null = null;
  private disposed = false;

  private constructor(config: BertConfig, params: BertParams, bindings: HfBinding[]) {
    this.config = config;
    this.params = params;
    this.bindings = bindings;
  }

  static fromCheckpoint(ckpt: Pick<BertCheckpoint, 'config' | 'tensors'>): BertEncoder {
    const { params, bindings } = createBertParams(ckpt.config, ckpt.tensors);
    return new BertEncoder(ckpt.config, params, bindings);
  }

  static random(config: BertConfig, seed: number): BertEncoder {
    const { params, bindings } = createBertParams(config, { seed });
    return new BertEncoder(config, params, bindings);
  }

  get numLayers() {
    return this.config.numHiddenLayers;
  }
  get numHeads() {
    return this.config.numAttentionHeads;
  }

  /** Every trainable variable of the encoder (and its extension), by HF name. */
  namedVariables(): Map<string, tf.Variable> {
    const m = new Map<string, tf.Variable>();
    for (const b of this.bindings) m.set(b.hfName, b.variable);
    if (this.extension) for (const [n, v] of this.extension.namedVariables()) m.set(n, v);
    return m;
  }

  /** HF-layout tensors of the encoder (names without `bert.`), ready for safetensors. */
  toNamedTensors(): NamedTensor[] {
    return bindingsToNamedTensors(this.bindings);
  }

  forward(input: EncoderInput, opts: ForwardOptions = {}): EncoderOutput {
    if (this.disposed) throw new Error('BertEncoder: used after dispose()');
    const fixed = this.extension?.fixedSeqLen;
    if (fixed !== undefined && input.inputIds.shape[1] < fixed) return this.forwardPadded(input, opts, fixed);
    const cfg = this.config;
    const p = this.params;
    const training = opts.training ?? false;
    let seed = opts.dropoutSeed ?? 0;
    const nextSeed = () => (opts.dropoutSeed === undefined ? undefined : seed++);
    const [B, T] = input.inputIds.shape;
    if (T > cfg.maxPositionEmbeddings) {
      throw new Error(`BertEncoder: sequence length ${T} exceeds max_position_embeddings ${cfg.maxPositionEmbeddings}`);
    }
    if (opts.headMask && (opts.headMask.shape[0] !== cfg.numHiddenLayers || opts.headMask.shape[1] !== cfg.numAttentionHeads)) {
      throw new Error(`BertEncoder: head mask has shape [${opts.headMask.shape}], expected [${cfg.numHiddenLayers}, ${cfg.numAttentionHeads}]`);
    }
    const ctx: ExtensionContext = { taskId: opts.taskId ?? 0, training, nextSeed, seqLen: T, batchSize: B };

    // Embeddings: word + position + token type → LayerNorm → dropout. [B, T, H]
    const positions = tf.range(0, T, 1, 'int32');
    let h = tf.add(
      tf.add(
        embeddingLookup(p.wordEmbeddings as tf.Tensor2D, input.inputIds),
        tf.expandDims(embeddingLookup(p.positionEmbeddings as tf.Tensor2D, positions), 0),
      ),
      embeddingLookup(p.tokenTypeEmbeddings as tf.Tensor2D, input.tokenTypeIds),
    );
    h = layerNorm(h, p.embeddingNorm.gamma as tf.Tensor1D, p.embeddingNorm.beta as tf.Tensor1D, cfg.layerNormEps);
    h = dropout(h, cfg.hiddenDropoutProb, training, nextSeed());
    if (opts.embeddingDelta) h = tf.add(h, opts.embeddingDelta);
    const embeddingOutput = h as tf.Tensor3D;

    const bias = attentionBias(input.attentionMask);
    ctx.attentionBias = bias;
    const hiddenStates: tf.Tensor3D[] = [embeddingOutput];
    const attentions: tf.Tensor4D[] = [];
    for (let l = 0; l < cfg.numHiddenLayers; l++) {
      const maskRow = opts.headMask ? tf.reshape(tf.slice(opts.headMask, [l, 0], [1, -1]), [1, -1, 1, 1]) : null;
      const { out, probs } = this.layer(l, p.layers[l], h as tf.Tensor3D, bias, maskRow, ctx);
      h = out;
      hiddenStates.push(out as tf.Tensor3D);
      attentions.push(probs);
    }

    // Pooler: tanh(W·h_[CLS] + b). [B, H]
    // On wasm as a row gather (tfjs-wasm's Slice first copies all of h out of the heap); a copy either way.
    const H = cfg.hiddenSize;
    const cls =
      tf.getBackend() === 'wasm'
        ? (embeddingLookup(tf.reshape(h, [B * T, H]) as tf.Tensor2D, tf.range(0, B * T, T, 'int32')) as tf.Tensor2D)
        : tf.reshape(tf.slice(h, [0, 0, 0], [B, 1, H]), [B, H]);
    const pooled = tf.tanh(dense(cls, p.pooler.kernel as tf.Tensor2D, p.pooler.bias as tf.Tensor1D)) as tf.Tensor2D;

    return {
      lastHiddenState: h as tf.Tensor3D,
      pooled,
      embeddingOutput,
      hiddenStates: opts.outputHiddenStates ? hiddenStates : undefined,
      attentions: opts.outputAttentions ? attentions : undefined,
    };
  }

  /**
   * Pads [B, T] inputs to [B, S] with [PAD] tokens under attention mask 0 (as the seed's loader pads to
   * max_seq_length), runs the layers, and cuts every output back to T positions. Real tokens never attend to
   * the padding, so only an extension that reads the whole sequence sees a difference.
   */
  private forwardPadded(input: EncoderInput, opts: ForwardOptions, S: number): EncoderOutput {
    const T = input.inputIds.shape[1];
    const pad = (x: tf.Tensor2D, value: number) =>
      tf.pad(
        x,
        [
          [0, 0],
          [0, S - T],
        ],
        value,
      ) as tf.Tensor2D;
    const out = this.forward(
      {
        inputIds: pad(input.inputIds, this.config.padTokenId),
        tokenTypeIds: pad(input.tokenTypeIds, 0),
        attentionMask: pad(input.attentionMask, 0),
      },
      opts,
    );
    const cut3 = (x: tf.Tensor3D) => tf.slice(x, [0, 0, 0], [-1, T, -1]) as tf.Tensor3D;
    return {
      lastHiddenState: cut3(out.lastHiddenState),
      pooled: out.pooled,
      embeddingOutput: cut3(out.embeddingOutput),
      hiddenStates: out.hiddenStates?.map(cut3),
      attentions: out.attentions?.map((a) => tf.slice(a, [0, 0, 0, 0], [-1, -1, T, T]) as tf.Tensor4D),
    };
  }

  /** One transformer layer (Vaswani et al. 2017, post-LN as BERT): attention block, then feed-forward block. */
  private layer(l: number, w: LayerParams, hIn: tf.Tensor3D, bias: tf.Tensor4D, headMask: tf.Tensor | null, ctx: ExtensionContext) {
    const { out: attnOut, probs } = this.attention(l, w, hIn, bias, headMask, ctx);
    return { out: this.feedForward(l, w, hIn, attnOut, ctx), probs };
  }

  /** Multi-head self-attention → dropout → add & LayerNorm. [B, T, H] → [B, T, H], probs [B, A, T, T]. */
  private attention(l: number, w: LayerParams, hIn: tf.Tensor3D, bias: tf.Tensor4D, headMask: tf.Tensor | null, ctx: ExtensionContext) {
    const cfg = this.config;
    const [B, T, H] = hIn.shape;
    const A = cfg.numAttentionHeads; // heads of d = H / A features each

    // Q, K, V in one matmul: [B, T, H] · [H, 3H] → [B, T, 3H]. Variants may add task-specific terms.
    let qkv = dense(
      hIn,
      tf.concat([w.query.kernel, w.key.kernel, w.value.kernel], 1) as tf.Tensor2D,
      tf.concat([w.query.bias, w.key.bias, w.value.bias]) as tf.Tensor1D,
    );
    const deltas = this.extension?.projectionDeltas?.(l, hIn, ctx);
    if (deltas && (deltas.q || deltas.k || deltas.v)) {
      const orZero = (x: tf.Tensor | undefined) => x ?? tf.zeros([B, T, H]);
      qkv = tf.add(qkv, tf.concat([orZero(deltas.q), orZero(deltas.k), orZero(deltas.v)], -1));
    }
    // Split heads, all three at once: [B, T, 3·A·d] → q, k, v of [B·A, T, d] (kernels/attentionHeads.ts).
    const [q, k, v] = splitHeads(qkv as tf.Tensor3D, A, 3) as [tf.Tensor3D, tf.Tensor3D, tf.Tensor3D];

    // Scaled dot-product attention: softmax(q·kᵀ/√d + bias) [B, A, T, T] (one kernel where a backend registers it)
    let probs = attentionProbs(q, k, bias, A);
    probs = dropout(probs, cfg.attentionProbsDropoutProb, ctx.training, ctx.nextSeed()) as tf.Tensor4D;
    if (headMask) probs = tf.mul(probs, headMask) as tf.Tensor4D;

    // Weighted values [B·A, T, d] → merge heads [B, A, T, d] → [B, T, H]
    const context = mergeHeads([attentionContext(tf.reshape(probs, [B * A, T, T]) as tf.Tensor3D, v)], B);
    const projected = dropout(
      dense(context, w.attentionOutput.kernel as tf.Tensor2D, w.attentionOutput.bias as tf.Tensor1D),
      cfg.hiddenDropoutProb,
      ctx.training,
      ctx.nextSeed(),
    );
    const out = layerNorm(tf.add(projected, hIn), w.attentionNorm.gamma as tf.Tensor1D, w.attentionNorm.beta as tf.Tensor1D, cfg.layerNormEps) as tf.Tensor3D;
    return { out, probs };
  }

  /** Position-wise feed-forward → dropout → add & LayerNorm. [B, T, H] → [B, T, I] → [B, T, H]. */
  private feedForward(l: number, w: LayerParams, hIn: tf.Tensor3D, attnOut: tf.Tensor3D, ctx: ExtensionContext): tf.Tensor3D {
    const cfg = this.config;
    const inter = activation(dense(attnOut, w.intermediate.kernel as tf.Tensor2D, w.intermediate.bias as tf.Tensor1D), cfg.hiddenAct);
    let ffn = dropout(dense(inter, w.output.kernel as tf.Tensor2D, w.output.bias as tf.Tensor1D), cfg.hiddenDropoutProb, ctx.training, ctx.nextSeed());
    // PALs-style variants add a task-specific term (computed from the layer's input) inside this final residual.
    const extra = this.extension?.layerDelta?.(l, hIn, ctx);
    if (extra) ffn = tf.add(ffn, extra);
    return layerNorm(tf.add(ffn, attnOut), w.outputNorm.gamma as tf.Tensor1D, w.outputNorm.beta as tf.Tensor1D, cfg.layerNormEps) as tf.Tensor3D;
  }

  dispose() {
    if (this.disposed) return;
    for (const b of this.bindings) b.variable.dispose();
    this.extension?.dispose();
    this.disposed = true;
  }
}
