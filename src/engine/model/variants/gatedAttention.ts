import * as tf from '@tensorflow/tfjs';
import type { NamedTensor } from '../../checkpoint/types.ts';
import type { DenseParams } from '../bertWeights.ts';
import type { ExtensionContext } from '../encoderExtension.ts';
import { dense } from '../ops.ts';
import { EmbertAttention } from './embertAttention.ts';
import { checkTaskId, ExtensionParams, type ExtensionInit } from './extensionParams.ts';
import type { VariantConfig } from './variantConfig.ts';
import type { VariantExtension } from './variantExtension.ts';

interface TaskAdapters {
  queryDown: DenseParams;
  queryUp: DenseParams;
  keyDown: DenseParams;
  keyUp: DenseParams;
  value: DenseParams;
}

/**
 * Gated-BERT (docs/methods.md §5.3, Gated_bert `modeling_gated.py`): layers 0..L−2 use EmBERT attention; the last layer's
 * self-attention adds, for the batch's task i,
 *   Q += c^{Q1}_i · B^Q_i(A^Q_i h) + c^{Q2}_i · Σ_{j≠i} g^Q_j · B^Q_j(A^Q_j h)
 *   K += c^{K1}_i · B^K_i(A^K_i h) + c^{K2}_i · Σ_{j≠i} g^K_j · B^K_j(A^K_j h)
 *   V += c^V_i · V_i(h)
 * with low-rank adapters A: H→r, B: r→H (r = hidden_size_aug), a full value adapter V_i: H→H, and gates
 * g = softmax(G(flatten(h))) ∈ R^{B×T} from Linear(S·H → T) on the whole padded sequence (S = gated_seq_len).
 *
 * Names: `gated.task.{i}.{query_down,query_up,key_down,key_up,value}.{weight,bias}` (the seed's query_list.i,
 * query_list2.i, key_list.i, key_list2.i, value_list.i), `gated.gate_{q,k}.{weight,bias}` (weight_layer_q/k),
 * `gated.task_emb_{q1,k1,q2,k2,v}` [T, 1] (or [T, H] with gated_task_scale "hidden"), and EmBERT's
 * `embert.layer.{l}.task_emb_*` for l < L−1.
 *
 * Init, `random`: adapters N(0, initializer_range²) with zero biases, task embeddings N(0, initializer_range²),
 * gate weights *and* biases zero, so the gates start uniform at 1/T: every other task's adapter is "open" with
 * equal weight — the seed's starting point. `neutral`: the same, except the five task-embedding tables c are zero,
 * which multiplies every adapter term by 0 (exactly), and EmBERT's tables are zero; the gates stay uniform.
 *
 * Note that other tasks' Q/K adapters do receive gradients through the gated sum; the seed keeps them fixed by
 * freezing them, which `gatedTrainableNames` reproduces.
 */
export class GatedAttention implements VariantExtension {
  readonly variant = 'gated' as const;
  readonly numTasks: number;
  /** The gate's input is [B, gated_seq_len·H]: the encoder pads every batch to this length. */
  readonly fixedSeqLen: number;
  private readonly embert: EmbertAttention;
  private readonly params: ExtensionParams;
  private readonly adapters: TaskAdapters[] = [];
  private readonly gateQ: DenseParams;
  private readonly gateK: DenseParams;
  private readonly scale: { q1: tf.Variable; k1: tf.Variable; q2: tf.Variable; k2: tf.Variable; v: tf.Variable };
  private readonly lastLayer: number;

  constructor(
    readonly config: VariantConfig,
    init: ExtensionInit,
  ) {
    const { bert, numTasks, hiddenSizeAug: r, gatedSeqLen: S } = config;
    const H = bert.hiddenSize;
    const T = numTasks;
    this.numTasks = T;
    this.fixedSeqLen = S;
    this.lastLayer = bert.numHiddenLayers - 1;
    const layers = Array.from({ length: this.lastLayer }, (_, l) => l);
    this.embert = new EmbertAttention(config, init, layers);
    const ownInit: ExtensionInit = init.from === 'tensors' ? init : { ...init, seed: init.seed + 1_000_003 };
    const p = new ExtensionParams('Gated-BERT', 'gated.', ownInit, bert.initializerRange);
    this.params = p;
    try {
      for (let i = 0; i < T; i++) {
        this.adapters.push({
          queryDown: p.linear(`task.${i}.query_down`, H, r),
          queryUp: p.linear(`task.${i}.query_up`, r, H),
          keyDown: p.linear(`task.${i}.key_down`, H, r),
          keyUp: p.linear(`task.${i}.key_up`, r, H),
          value: p.linear(`task.${i}.value`, H, H),
        });
      }
      const gate = (name: string): DenseParams => ({
        kernel: p.add(`${name}.weight`, [T, S * H], 'zeros', 'zeros', true),
        bias: p.add(`${name}.bias`, [T], 'zeros'),
      });
      this.gateQ = gate('gate_q');
      this.gateK = gate('gate_k');
      const w = config.gatedTaskScale === 'hidden' ? H : 1;
      const c = (name: string) => p.add(`task_emb_${name}`, [T, w], 'normal', 'zeros');
      this.scale = { q1: c('q1'), k1: c('k1'), q2: c('q2'), k2: c('k2'), v: c('v') };
      p.finish();
    } catch (e) {
      p.dispose();
      this.embert.dispose();
      throw e;
    }
  }

  projectionDeltas(layer: number, hIn: tf.Tensor, ctx: ExtensionContext) {
    if (layer !== this.lastLayer) return this.embert.projectionDeltas(layer, hIn, ctx);
    const i = checkTaskId('Gated-BERT', ctx.taskId, this.numTasks);
    const [B, S, H] = hIn.shape as [number, number, number];
    if (S !== this.config.gatedSeqLen) {
      throw new Error(
        `Gated-BERT: input length ${S} must equal gated_seq_len ${this.config.gatedSeqLen}: the gate reads the flattened ` +
          `sequence, so pad every batch to exactly ${this.config.gatedSeqLen} tokens`,
      );
    }
    const T = this.numTasks;
    const k2 = (d: DenseParams) => [d.kernel as tf.Tensor2D, d.bias as tf.Tensor1D] as const;
    const lowRank = (down: DenseParams, up: DenseParams) => dense(dense(hIn, ...k2(down)), ...k2(up));
    const row = (table: tf.Variable) => tf.slice(table, [i, 0], [1, table.shape[1]!]); // [1, 1|H] broadcasts over [B, S, H]

    const flat = tf.reshape(hIn, [B, S * H]);
    const gates = (g: DenseParams) => tf.softmax(dense(flat, ...k2(g))); // [B, T]
    const mixture = (g: tf.Tensor, pick: (a: TaskAdapters) => tf.Tensor): tf.Tensor | null => {
      let sum: tf.Tensor | null = null;
      for (let j = 0; j < T; j++) {
        if (j === i) continue;
        const term = tf.mul(tf.reshape(tf.slice(g, [0, j], [B, 1]), [B, 1, 1]), pick(this.adapters[j]));
        sum = sum ? tf.add(sum, term) : term;
      }
      return sum;
    };
    const own = this.adapters[i];
    let q = tf.mul(row(this.scale.q1), lowRank(own.queryDown, own.queryUp));
    let k = tf.mul(row(this.scale.k1), lowRank(own.keyDown, own.keyUp));
    const mixQ = mixture(gates(this.gateQ), (a) => lowRank(a.queryDown, a.queryUp));
    const mixK = mixture(gates(this.gateK), (a) => lowRank(a.keyDown, a.keyUp));
    if (mixQ) q = tf.add(q, tf.mul(row(this.scale.q2), mixQ));
    if (mixK) k = tf.add(k, tf.mul(row(this.scale.k2), mixK));
    const v = tf.mul(row(this.scale.v), dense(hIn, ...k2(own.value)));
    return { q, k, v };
  }

  namedVariables(): Map<string, tf.Variable> {
    return new Map([...this.embert.namedVariables(), ...this.params.namedVariables()]);
  }
  snapshot(): NamedTensor[] {
    return [...this.embert.snapshot(), ...this.params.snapshot()];
  }
  dispose(): void {
    this.embert.dispose();
    this.params.dispose();
  }
}

/** Epochs (0-based) at which run_multi_task_gated.py unfreezes the gates, and then freezes the shared Q/K/V. */
export const GATED_GATES_TRAINABLE_FROM_EPOCH = 20;
export const GATED_SHARED_QKV_FROZEN_FROM_EPOCH = 40;

const SHARED_QKV = /^(?:bert\.)?encoder\.layer\.\d+\.attention\.self\.(?:query|key|value)\.(?:weight|bias)$/;
const GATE = /^gated\.gate_[qk]\./;
const ADAPTER = /^gated\.task\.(\d+)\./;

/**
 * Gated-BERT's training phases (docs/methods.md §5.3), set on every step: which of `allNames` (encoder HF names, extension
 * and head names) are trainable for a batch of task `taskId` in epoch `epoch` (0-based):
 * - always: only task `taskId`'s adapters (`gated.task.{taskId}.*`); other tasks' adapters are frozen;
 * - epoch < 20: the gates `gated.gate_{q,k}.*` are frozen too;
 * - epoch ≥ 40: the shared `encoder.layer.*.attention.self.{query,key,value}` of every layer are frozen.
 * Everything else (including the task-embedding tables, whose other rows get zero gradients) stays trainable,
 * as in the seed. Returned in the order given.
 */
export function gatedTrainableNames(epoch: number, taskId: number, allNames: Iterable<string>): string[] {
  if (!Number.isInteger(epoch) || epoch < 0) throw new Error(`gatedTrainableNames: epoch must be a non-negative integer, got ${epoch}`);
  if (!Number.isInteger(taskId) || taskId < 0) throw new Error(`gatedTrainableNames: taskId must be a non-negative integer, got ${taskId}`);
  const out: string[] = [];
  for (const name of allNames) {
    const adapter = ADAPTER.exec(name);
    if (adapter && Number(adapter[1]) !== taskId) continue;
    if (epoch < GATED_GATES_TRAINABLE_FROM_EPOCH && GATE.test(name)) continue;
    if (epoch >= GATED_SHARED_QKV_FROZEN_FROM_EPOCH && SHARED_QKV.test(name)) continue;
    out.push(name);
  }
  return out;
}
