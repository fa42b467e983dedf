import * as tf from '@tensorflow/tfjs';
import type { NamedTensor } from '../../checkpoint/types.ts';
import type { ExtensionContext } from '../encoderExtension.ts';
import { checkTaskId, ExtensionParams, type ExtensionInit } from './extensionParams.ts';
import type { VariantConfig } from './variantConfig.ts';
import type { VariantExtension } from './variantExtension.ts';

interface LayerTables {
  q: tf.Variable;
  k: tf.Variable;
  v: tf.Variable;
}

/**
 * EmBERT's task-embedded attention (docs/methods.md §5.1, Gated_bert `BERTLukaszSelfAttention`): every layer ℓ has tables
 * E^Q_ℓ, E^K_ℓ, E^V_ℓ ∈ R^{T×H}, and for the batch's task i the rows E_ℓ[i] are added to Q, K, V after the
 * projections, broadcast over batch and positions. Names: `embert.layer.{l}.task_emb_{q,k,v}` [T, H], the seed's
 * `query_task_emb.weight` layout.
 *
 * The tables stay whole (one variable per layer and projection, as nn.Embedding), so other tasks' rows get a
 * zero gradient — like the seed, where BERTAdam's weight decay and momentum still touch them (docs/methods.md §7.16).
 * The row is taken with a slice, whose gradient is a pad: no gather/UnsortedSegmentSum (missing on wasm).
 *
 * E^K_ℓ[i] adds one vector to every key, which shifts each query's scores by the constant q·E^K_ℓ[i]; softmax
 * ignores that, so E^K has no effect and a zero gradient — in the seed too. It is kept for faithful checkpoints
 * and parameter counts.
 *
 * Init: `random` N(0, initializer_range²) (the seed's init_weights); `neutral` all zeros, so the encoder is plain BERT.
 */
export class EmbertAttention implements VariantExtension {
  readonly variant = 'embert' as const;
  readonly numTasks: number;
  private readonly params: ExtensionParams;
  private readonly tables = new Map<number, LayerTables>();

  /** `layers`: which encoder layers get task embeddings (all by default; Gated-BERT leaves out the last). */
  constructor(
    readonly config: VariantConfig,
    init: ExtensionInit,
    layers?: readonly number[],
  ) {
    const { numTasks, bert } = config;
    this.numTasks = numTasks;
    const H = bert.hiddenSize;
    const which = layers ?? Array.from({ length: bert.numHiddenLayers }, (_, l) => l);
    this.params = new ExtensionParams('EmBERT', 'embert.', init, bert.initializerRange);
    try {
      for (const l of which) {
        if (!Number.isInteger(l) || l < 0 || l >= bert.numHiddenLayers) {
          throw new Error(`EmBERT: layer ${l} is out of range for num_hidden_layers ${bert.numHiddenLayers}`);
        }
        const t = (p: string) => this.params.add(`layer.${l}.task_emb_${p}`, [numTasks, H], 'normal', 'zeros');
        this.tables.set(l, { q: t('q'), k: t('k'), v: t('v') });
      }
      this.params.finish();
    } catch (e) {
      this.params.dispose();
      throw e;
    }
  }

  projectionDeltas(layer: number, _hIn: tf.Tensor, ctx: ExtensionContext) {
    const t = this.tables.get(layer);
    if (!t) return null;
    const i = checkTaskId('EmBERT', ctx.taskId, this.numTasks);
    const H = this.config.bert.hiddenSize;
    const row = (table: tf.Variable) => tf.slice(table, [i, 0], [1, H]); // [1, H], broadcasts over [B, T, H]
    return { q: row(t.q), k: row(t.k), v: row(t.v) };
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
