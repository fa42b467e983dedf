import * as tf from '@tensorflow/tfjs';
import type { BertCheckpoint, BertConfig, NamedTensor } from '../checkpoint/types.ts';
import { createBertParams, bindingsToNamedTensors, type BertParams, type HfBinding, type LayerParams } from './bertWeights.ts';
import { activation, dense, dropout, embeddingLookup, layerNorm } from './ops.ts';
import type { EncoderExtension, ExtensionContext } from './encoderExtension.ts';

/**
 * The BERT encoder (Devlin et al. 2019) in tfjs: embeddings → L post-LayerNorm transformer layers → pooler.
 * Shapes: B = batch, T = sequence length, H = hidden, A = heads, d = H/A, I = intermediate.
 */

export interface EncoderInput {
  inputIds: tf.Tensor2D;      // int32 [B, T]
  tokenTypeIds: tf.Tensor2D;  // int32 [B, T]
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
  lastHiddenState: tf.Tensor3D;   // [B, T, H]
  pooled: tf.Tensor2D;            // [B, H]
  embeddingOutput: tf.Tensor3D;   // [B, T, H], hiddenStates[0]
  hiddenStates?: tf.Tensor3D[];   // L+1 of [B, T, H]
  attentions?: tf.Tensor4D[];     // L of [B, A, T, T]
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

  get numLayers() { return this.config.numHiddenLayers; }
  get numHeads() { return this.config.numAttentionHeads; }

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
      tf.add(embeddingLookup(p.wordEmbeddings as tf.Tensor2D, input.inputIds),
        tf.expandDims(embeddingLookup(p.positionEmbeddings as tf.Tensor2D, positions), 0)),
      embeddingLookup(p.tokenTypeEmbeddings as tf.Tensor2D, input.tokenTypeIds));
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
      const { out, probs } = this.layer(l, p.layers[l], h, bias, maskRow, ctx);
      h = out;
      hiddenStates.push(out as tf.Tensor3D);
      attentions.push(probs);
    }

    // Pooler: tanh(W·h_[CLS] + b). [B, H]
    const cls = tf.reshape(tf.slice(h, [0, 0, 0], [B, 1, cfg.hiddenSize]), [B, cfg.hiddenSize]);
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
    const pad = (x: tf.Tensor2D, value: number) => tf.pad(x, [[0, 0], [0, S - T]], value) as tf.Tensor2D;
    const out = this.forward({
      inputIds: pad(input.inputIds, this.config.padTokenId),
      tokenTypeIds: pad(input.tokenTypeIds, 0),
      attentionMask: pad(input.attentionMask, 0),
    }, opts);
    const cut3 = (x: tf.Tensor3D) => tf.slice(x, [0, 0, 0], [-1, T, -1]) as tf.Tensor3D;
    return {
      lastHiddenState: cut3(out.lastHiddenState),
      pooled: out.pooled,
      embeddingOutput: cut3(out.embeddingOutput),
      hiddenStates: out.hiddenStates?.map(cut3),
      attentions: out.attentions?.map((a) => tf.slice(a, [0, 0, 0, 0], [-1, -1, T, T]) as tf.Tensor4D),
    };
  }

  /** One transformer layer: multi-head self-attention → add & norm → FFN → add & norm. */
  private layer(l: number, w: LayerParams, hIn: tf.Tensor, bias: tf.Tensor4D, headMask: tf.Tensor | null, ctx: ExtensionContext) {
    const cfg = this.config;
    const [B, T, H] = hIn.shape as [number, number, number];
    const A = cfg.numAttentionHeads;
    const d = H / A;
    const k2 = (x: DenseLike) => [x.kernel as tf.Tensor2D, x.bias as tf.Tensor1D] as const;

    // Projections [B, T, H]; variants may add task-specific terms before the split into heads.
    let q = dense(hIn, ...k2(w.query));
    let k = dense(hIn, ...k2(w.key));
    let v = dense(hIn, ...k2(w.value));
    const deltas = this.extension?.projectionDeltas?.(l, hIn, ctx);
    if (deltas?.q) q = tf.add(q, deltas.q);
    if (deltas?.k) k = tf.add(k, deltas.k);
    if (deltas?.v) v = tf.add(v, deltas.v);

    // Split heads: [B, T, H] → [B, A, T, d]
    const split = (x: tf.Tensor) => tf.transpose(tf.reshape(x, [B, T, A, d]), [0, 2, 1, 3]);
    const qh = split(q), kh = split(k), vh = split(v);

    // Scaled dot-product attention: [B, A, T, T]
    const scores = tf.add(tf.div(tf.matMul(qh, kh, false, true), Math.sqrt(d)), bias);
    let probs = tf.softmax(scores) as tf.Tensor4D;
    probs = dropout(probs, cfg.attentionProbsDropoutProb, ctx.training, ctx.nextSeed()) as tf.Tensor4D;
    if (headMask) probs = tf.mul(probs, headMask) as tf.Tensor4D;

    // Merge heads: [B, A, T, d] → [B, T, H]
    const context = tf.reshape(tf.transpose(tf.matMul(probs, vh), [0, 2, 1, 3]), [B, T, H]);
    const attnProj = dropout(dense(context, ...k2(w.attentionOutput)), cfg.hiddenDropoutProb, ctx.training, ctx.nextSeed());
    const attnOut = layerNorm(tf.add(attnProj, hIn), w.attentionNorm.gamma as tf.Tensor1D, w.attentionNorm.beta as tf.Tensor1D, cfg.layerNormEps);

    // Feed-forward: [B, T, H] → [B, T, I] → [B, T, H]
    const inter = activation(dense(attnOut, ...k2(w.intermediate)), cfg.hiddenAct);
    let ffn = dropout(dense(inter, ...k2(w.output)), cfg.hiddenDropoutProb, ctx.training, ctx.nextSeed());
    // PALs-style variants add a task-specific term inside this final residual.
    const extra = this.extension?.layerDelta?.(l, hIn, ctx);
    if (extra) ffn = tf.add(ffn, extra);
    const out = layerNorm(tf.add(ffn, attnOut), w.outputNorm.gamma as tf.Tensor1D, w.outputNorm.beta as tf.Tensor1D, cfg.layerNormEps);
    return { out, probs };
  }

  dispose() {
    if (this.disposed) return;
    for (const b of this.bindings) b.variable.dispose();
    this.extension?.dispose();
    this.disposed = true;
  }
}

interface DenseLike { kernel: tf.Variable; bias: tf.Variable }
