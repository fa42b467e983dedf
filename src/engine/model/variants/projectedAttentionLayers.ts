import * as tf from '@tensorflow/tfjs';
import type { NamedTensor } from '../../checkpoint/types.ts';
import type { DenseParams } from '../bertWeights.ts';
import type { ExtensionContext } from '../encoderExtension.ts';
import { activation, dense, dropout } from '../ops.ts';
import { checkTaskId, ExtensionParams, type ExtensionInit } from './extensionParams.ts';
import type { VariantConfig } from './variantConfig.ts';
import type { VariantExtension } from './variantExtension.ts';

interface PalAttention {
  query: DenseParams;
  key: DenseParams;
  value: DenseParams;
}
interface Projections {
  enc: DenseParams;
  dec: DenseParams;
}

/**
 * Projected attention layers (docs/methods.md §5.4, Bert-n-Pals `BERTPals`): for task i in layer ℓ,
 *   PAL_ℓ,i(h) = GELU( V^D_i · Attn_ℓ,i( V^E_i · h ) ),
 * where h is the layer's *input*, V^E_i: H→r and V^D_i: r→H are shared by all layers (the seed ties
 * `mult_aug_dense[i]` / `mult_aug_dense2[i]` into every layer; `pal_shared_projections: false` gives each layer
 * its own), and Attn is multi-head self-attention with pal_heads heads on the r dims (Q, K, V: r→r, no output
 * matrix, the encoder's mask bias, attention dropout). The result is added inside the layer's final residual,
 * before the output LayerNorm (`layerDelta`). GELU is the erf form, as the seed hard-codes.
 *
 * Names: `pals.task.{i}.{enc,dec}.{weight,bias}` (shared) or `pals.layer.{l}.task.{i}.{enc,dec}.*` (per layer),
 * and `pals.layer.{l}.task.{i}.attn.{query,key,value}.{weight,bias}`.
 *
 * Init: `random` N(0, initializer_range²) weights, zero biases (the seed's fresh init for 'aug'/'mult' names);
 * `neutral` as random but V^D's weights (and biases) zero, so every PAL outputs GELU(0) = 0 exactly.
 */
export class ProjectedAttentionLayers implements VariantExtension {
  readonly variant = 'pals' as const;
  readonly numTasks: number;
  private readonly params: ExtensionParams;
  /** [layer][task] (shared projections: the same object in every layer). */
  private readonly projections: Projections[][] = [];
  private readonly attention: PalAttention[][] = [];

  constructor(
    readonly config: VariantConfig,
    init: ExtensionInit,
  ) {
    const { bert, numTasks: T, hiddenSizeAug: r, palHeads } = config;
    if (r % palHeads !== 0) {
      throw new Error(`PALs: pal_heads (${palHeads}) must divide hidden_size_aug (${r})`);
    }
    const H = bert.hiddenSize;
    const L = bert.numHiddenLayers;
    this.numTasks = T;
    const p = new ExtensionParams('PALs', 'pals.', init, bert.initializerRange);
    this.params = p;
    try {
      const projectionsAt = (prefix: string): Projections => ({
        enc: p.linear(`${prefix}enc`, H, r),
        dec: p.linear(`${prefix}dec`, r, H, 'zeros'),
      });
      const shared = config.palSharedProjections ? Array.from({ length: T }, (_, i) => projectionsAt(`task.${i}.`)) : null;
      for (let l = 0; l < L; l++) {
        this.projections.push(shared ?? Array.from({ length: T }, (_, i) => projectionsAt(`layer.${l}.task.${i}.`)));
        this.attention.push(
          Array.from({ length: T }, (_, i) => ({
            query: p.linear(`layer.${l}.task.${i}.attn.query`, r, r),
            key: p.linear(`layer.${l}.task.${i}.attn.key`, r, r),
            value: p.linear(`layer.${l}.task.${i}.attn.value`, r, r),
          })),
        );
      }
      p.finish();
    } catch (e) {
      p.dispose();
      throw e;
    }
  }

  layerDelta(layer: number, hIn: tf.Tensor, ctx: ExtensionContext): tf.Tensor {
    const i = checkTaskId('PALs', ctx.taskId, this.numTasks);
    if (!ctx.attentionBias) throw new Error('PALs: the encoder passed no attentionBias in the extension context');
    const { enc, dec } = this.projections[layer][i];
    const k2 = (d: DenseParams) => [d.kernel as tf.Tensor2D, d.bias as tf.Tensor1D] as const;
    const x = dense(hIn, ...k2(enc)); // [B, T, r]
    const ctxOut = this.selfAttention(x, this.attention[layer][i], ctx);
    return activation(dense(ctxOut, ...k2(dec)), 'gelu'); // [B, T, H]
  }

  /** BERTSelfAttention(config, pal_heads) on [B, T, r]: no output dense, no residual. */
  private selfAttention(x: tf.Tensor, w: PalAttention, ctx: ExtensionContext): tf.Tensor {
    const [B, T, r] = x.shape as [number, number, number];
    const A = this.config.palHeads;
    const d = r / A;
    const k2 = (p: DenseParams) => [p.kernel as tf.Tensor2D, p.bias as tf.Tensor1D] as const;
    const split = (y: tf.Tensor) => tf.transpose(tf.reshape(y, [B, T, A, d]), [0, 2, 1, 3]); // [B, A, T, d]
    const q = split(dense(x, ...k2(w.query)));
    const k = split(dense(x, ...k2(w.key)));
    const v = split(dense(x, ...k2(w.value)));
    const scores = tf.add(tf.div(tf.matMul(q, k, false, true), Math.sqrt(d)), ctx.attentionBias!);
    const probs = dropout(tf.softmax(scores), this.config.bert.attentionProbsDropoutProb, ctx.training, ctx.nextSeed());
    return tf.reshape(tf.transpose(tf.matMul(probs, v), [0, 2, 1, 3]), [B, T, r]);
  }

  namedVariables(): Map<string, tf.Variable> {
    return this.params.namedVariables();
  }
  snapshot(): NamedTensor[] {
    return this.params.snapshot();
  }
  dispose(): void {
    this.params.dispose();
  }
}
