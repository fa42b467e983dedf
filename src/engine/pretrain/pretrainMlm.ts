import * as tf from '@tensorflow/tfjs';
import type { BertEncoder } from '../model/bertEncoder.ts';
import type { MaskedLmHead } from '../model/heads/maskedLmHead.ts';
import { Rng, type RngState } from '../runtime/rng.ts';
import { clipGradientsTensor } from '../train/clipGradients.ts';
import { createOptimizer, type OptimizerState, type SlotOptimizer } from '../train/optim/index.ts';
import { lrAt, type ScheduleKind } from '../train/schedule.ts';
import { padBatch, type PackedSequence } from './corpus.ts';
import { maskBatch, type MaskingOptions, type MaskingVocab } from './masking.ts';

/**
 * Masked-LM pretraining loop (BERT's recipe minus next-sentence prediction): AdamW, linear warmup then linear
 * decay, global-norm clipping, dropout on. Everything random is seeded: the data order of epoch e comes from
 * (seed, e), and the masking and dropout draws from one Rng whose state is saved, so a resumed run repeats
 * the uninterrupted one exactly (same backend).
 */

export interface MlmPretrainOptions {
  steps: number;
  batchSize: number;
  lr: number;
  /** Warmup fraction of `steps` (default 0.06). */
  warmup?: number;
  schedule?: ScheduleKind;
  optimizer?: 'adamw' | 'adam';
  weightDecay?: number;
  /** Global-norm clipping; 0 = off (default 1, as BERT). */
  maxGradNorm?: number;
  seed: number;
  masking?: MaskingOptions;
}

export interface MlmStepEvent {
  step: number;
  loss: number;
  /** Accuracy on the batch's masked positions (before the update). */
  accuracy: number;
  lr: number;
  gradNorm: number;
  /** Real (unpadded) tokens per second over this step. */
  tokensPerSec: number;
  etaSeconds: number;
}

export interface MlmEvalResult {
  loss: number;
  accuracy: number;
  predicted: number;
}

export interface PretrainState {
  step: number;
  seed: number;
  rng: RngState;
  optimizer: OptimizerState;
}

export class NonFiniteLossError extends Error {
  override name = 'NonFiniteLossError';
}

export class MlmPretrainer {
  readonly options: Required<Omit<MlmPretrainOptions, 'masking'>> & { masking: MaskingOptions };
  private readonly optimizer: SlotOptimizer;
  /** tfjs variable name → parameter name (variableGrads keys its result by variable name). */
  private readonly paramByVar = new Map<string, string>();
  private readonly vars: tf.Variable[] = [];
  private rng: Rng;
  private order: { epoch: number; perm: Int32Array } | null = null;
  private stepTimes: number[] = [];
  step = 0;

  constructor(
    readonly encoder: BertEncoder,
    readonly head: MaskedLmHead,
    readonly train: readonly PackedSequence[],
    readonly vocab: MaskingVocab,
    readonly padId: number,
    opts: MlmPretrainOptions,
  ) {
    this.options = {
      warmup: 0.06,
      schedule: 'warmup_linear',
      optimizer: 'adamw',
      weightDecay: 0.01,
      maxGradNorm: 1,
      masking: {},
      ...opts,
    };
    const o = this.options;
    if (!Number.isInteger(o.steps) || o.steps < 1) throw new Error(`pretraining: steps must be a positive integer, got ${o.steps}`);
    if (!Number.isInteger(o.batchSize) || o.batchSize < 1) throw new Error(`pretraining: batchSize must be a positive integer, got ${o.batchSize}`);
    if (train.length < o.batchSize) throw new Error(`pretraining: the corpus has ${train.length} training sequences, fewer than one batch of ${o.batchSize}`);
    const params = [...encoder.namedVariables(), ...head.namedVariables()].map(([name, variable]) => ({ name, variable }));
    for (const p of params) {
      this.paramByVar.set(p.variable.name, p.name);
      this.vars.push(p.variable);
    }
    this.optimizer =
      o.optimizer === 'adam' ? createOptimizer('adam', params) : createOptimizer('adamw', params, { weightDecay: o.weightDecay, decayFilter: 'no-bias-norm' });
    this.rng = new Rng(`mlm/${o.seed}`);
  }

  learningRate(step: number): number {
    const o = this.options;
    return lrAt(step, o.steps, { base: o.lr, warmup: o.warmup, kind: o.schedule });
  }

  /** The training sequences of step `s`: positions [sB, (s+1)B) of the stream of per-epoch permutations. */
  batchIndices(s: number): number[] {
    const N = this.train.length;
    const B = this.options.batchSize;
    const out: number[] = [];
    for (let k = s * B; k < (s + 1) * B; k++) {
      const epoch = Math.floor(k / N);
      if (this.order?.epoch !== epoch) {
        const perm = new Rng(`mlm/${this.options.seed}/order/${epoch}`).shuffle(Array.from({ length: N }, (_, i) => i));
        this.order = { epoch, perm: Int32Array.from(perm) };
      }
      out.push(this.order.perm[k % N]);
    }
    return out;
  }

  /** One optimiser step. Throws NonFiniteLossError (before any update) when the loss is NaN/Inf. */
  async trainStep(): Promise<MlmStepEvent> {
    const t0 = performance.now();
    const batch = padBatch(
      this.batchIndices(this.step).map((i) => this.train[i]),
      this.padId,
    );
    const masked = maskBatch(batch.inputIds, batch.attentionMask, batch.B, batch.T, this.vocab, this.rng, this.options.masking);
    const dropoutSeed = this.rng.nextUint32();
    const lr = this.learningRate(this.step);

    const inputs = tf.tidy(() => ({
      inputIds: tf.tensor2d(masked.inputIds, [batch.B, batch.T], 'int32'),
      tokenTypeIds: tf.tensor2d(batch.typeIds, [batch.B, batch.T], 'int32'),
      attentionMask: tf.tensor2d(batch.attentionMask, [batch.B, batch.T], 'int32'),
      positions: tf.tensor1d(masked.positions, 'int32'),
      targets: tf.tensor1d(masked.targets, 'int32'),
    }));
    const kept: { correct?: tf.Scalar } = {};
    const { value, grads } = tf.variableGrads(() => {
      const out = this.encoder.forward(inputs, { training: true, dropoutSeed });
      const logits = this.head.logitsAt(out.lastHiddenState, inputs.positions);
      kept.correct = tf.keep(tf.sum(tf.cast(tf.equal(tf.argMax(logits, -1), inputs.targets), 'float32')) as tf.Scalar);
      return this.head.loss(logits, inputs.targets);
    }, this.vars);
    const named = new Map<string, tf.Tensor>();
    for (const [varName, g] of Object.entries(grads)) named.set(this.paramByVar.get(varName)!, g);
    let gradNorm = Number.NaN;
    try {
      const loss = (await value.data())[0];
      if (!Number.isFinite(loss)) {
        throw new NonFiniteLossError(`masked-LM loss is ${loss} at step ${this.step} (lr ${lr}); stopped before updating the weights`);
      }
      const accuracy = (await kept.correct!.data())[0] / masked.positions.length;
      if (this.options.maxGradNorm > 0) {
        const clipped = clipGradientsTensor(named, this.options.maxGradNorm);
        try {
          gradNorm = (await clipped.norm.data())[0];
          this.optimizer.step(clipped.grads, lr);
        } finally {
          clipped.norm.dispose();
          for (const g of clipped.grads.values()) g.dispose();
        }
      } else {
        this.optimizer.step(named, lr);
      }
      this.step += 1;
      const seconds = (performance.now() - t0) / 1000;
      this.stepTimes.push(seconds);
      if (this.stepTimes.length > 20) this.stepTimes.shift();
      const mean = this.stepTimes.reduce((a, b) => a + b, 0) / this.stepTimes.length;
      return {
        step: this.step,
        loss,
        accuracy,
        lr,
        gradNorm,
        tokensPerSec: batch.realTokens / seconds,
        etaSeconds: mean * Math.max(0, this.options.steps - this.step),
      };
    } finally {
      value.dispose();
      kept.correct?.dispose();
      for (const g of named.values()) g.dispose();
      tf.dispose(inputs);
    }
  }

  /** Masked-LM loss (token-weighted) and accuracy on `seqs`, with masking fixed by `maskSeed`, dropout off. */
  async evaluate(
    seqs: readonly PackedSequence[],
    maskSeed: string | number = heldOutMaskSeed(this.options.seed),
    batchSize = this.options.batchSize,
  ): Promise<MlmEvalResult> {
    return evaluateMlm(this.encoder, this.head, seqs, this.vocab, this.padId, new Rng(maskSeed), batchSize, this.options.masking);
  }

  async getState(): Promise<PretrainState> {
    return { step: this.step, seed: this.options.seed, rng: this.rng.getState(), optimizer: await this.optimizer.getState() };
  }

  setState(state: PretrainState): void {
    if (state.seed !== this.options.seed) {
      throw new Error(`pretraining state was saved with seed ${state.seed}, but this run has seed ${this.options.seed}`);
    }
    if (state.optimizer.step !== state.step) {
      throw new Error(`pretraining state: step ${state.step} but the optimizer made ${state.optimizer.step} steps`);
    }
    this.optimizer.setState(state.optimizer);
    this.rng = Rng.fromState(state.rng);
    this.step = state.step;
  }

  dispose(): void {
    this.optimizer.dispose();
  }
}

/** The masking seed of a run's held-out evaluation: fixed per run, so every evaluation masks the same tokens. */
export function heldOutMaskSeed(runSeed: number): string {
  return `mlm/${runSeed}/heldout`;
}

/** Masked-LM loss and accuracy of a model on `seqs` (see MlmPretrainer.evaluate). */
export async function evaluateMlm(
  encoder: BertEncoder,
  head: MaskedLmHead,
  seqs: readonly PackedSequence[],
  vocab: MaskingVocab,
  padId: number,
  rng: Rng,
  batchSize: number,
  masking: MaskingOptions = {},
): Promise<MlmEvalResult> {
  let lossSum = 0;
  let correct = 0;
  let predicted = 0;
  for (let i = 0; i < seqs.length; i += batchSize) {
    const batch = padBatch(seqs.slice(i, i + batchSize), padId);
    const m = maskBatch(batch.inputIds, batch.attentionMask, batch.B, batch.T, vocab, rng, masking);
    if (m.positions.length === 0) continue;
    const [sumLoss, hits] = tf.tidy(() => {
      const out = encoder.forward(
        {
          inputIds: tf.tensor2d(m.inputIds, [batch.B, batch.T], 'int32'),
          tokenTypeIds: tf.tensor2d(batch.typeIds, [batch.B, batch.T], 'int32'),
          attentionMask: tf.tensor2d(batch.attentionMask, [batch.B, batch.T], 'int32'),
        },
        { training: false },
      );
      const targets = tf.tensor1d(m.targets, 'int32');
      const logits = head.logitsAt(out.lastHiddenState, tf.tensor1d(m.positions, 'int32'));
      return [tf.mul(head.loss(logits, targets), m.positions.length), tf.sum(tf.cast(tf.equal(tf.argMax(logits, -1), targets), 'float32'))];
    });
    lossSum += (await sumLoss.data())[0];
    correct += (await hits.data())[0];
    predicted += m.positions.length;
    tf.dispose([sumLoss, hits]);
  }
  if (predicted === 0) throw new Error('masked-LM evaluation: no positions to predict');
  return { loss: lossSum / predicted, accuracy: correct / predicted, predicted };
}
