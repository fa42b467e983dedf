import * as tf from '@tensorflow/tfjs';
import type { TaskType } from '../../../datasets/types.ts';
import { stableKl, symmetricKl } from '../model/losses.ts';
import { stopGradient } from '../model/ops.ts';
import { Rng } from '../runtime/rng.ts';
import type { MultiTaskModel, TaskForward } from '../model/multiTaskModel.ts';
import type { BatchTensors } from './batchTensors.ts';
import type { LossExtras } from './trainStep.ts';

/**
 * SMART adversarial regulariser (Jiang et al. 2020) as MT-DNN's `SmartPerturbation` (SIWLM fine-tuning,
 * `--adv_train --adv_opt 1`; docs/methods.md §1.14, §7.17):
 *
 *   δ₀ ~ N(0, 1)·noise_var on the embedding output e (padding positions masked out);  p = 0
 *   K times:  adv = f(e + p + δ₀);  L_in = stableKL(adv, logits.detach())  (MSE for regression)
 *             g = ∂L_in/∂δ₀;  if ‖g‖ is NaN/Inf the whole term is 0;
 *             p ← p + step_size · g / (max|g| over the hidden axis + ε)   (norm 'inf')
 *   final:    adv = f(e + p);  adv_loss = SymKL(logits, adv)  (MSE for regression)
 *
 * The ascent step moves `embed`, not `embed + noise`, so for K = 1 the final perturbation is step_size·ĝ and the
 * initial noise is gone (§7.17). The perturbation enters the graph detached (as `embed.detach()` in the
 * original), so the outer backward never differentiates through the inner gradient.
 */

export type SmartNorm = 'inf' | 'l2' | 'l1';

export interface SmartOptions {
  /** adv_alpha: weight of the term in the loss (1). */
  alpha: number;
  /** σ of the initial noise (adv_noise_var 1e-5). */
  noiseVar: number;
  /** η of the ascent step (adv_step_size 1e-3). */
  stepSize: number;
  /** ε of the normalisation (adv_epsilon 1e-6). */
  epsilon: number;
  /** K ascent steps (adv_k 1). */
  steps: number;
  /** Gradient normalisation (adv_p_norm 'inf'). */
  norm?: SmartNorm;
  /**
   * Dropout of the adversarial forwards. 'fresh' (faithful: every forward of the model in train mode draws new
   * masks): the adversarial forwards share one seed of their own, so they see the same embedding dropout as
   * each other, as the original's shared `embed`. 'same': they reuse the clean forward's seed, so the
   * perturbation is the only difference from the clean pass.
   */
  dropout?: 'fresh' | 'same';
}

export const SMART_DEFAULTS: Required<SmartOptions> = {
  alpha: 1,
  noiseVar: 1e-5,
  stepSize: 1e-3,
  epsilon: 1e-6,
  steps: 1,
  norm: 'inf',
  dropout: 'fresh',
};

export interface SmartInput {
  /** Runs the task's network with `delta` added to the embedding output → the head's output. */
  forward: (delta: tf.Tensor3D, dropoutSeed: number | undefined) => tf.Tensor;
  /** The clean forward's head output (logits [B, C]; scores [B] for regression and ranking). */
  logits: tf.Tensor;
  /** The clean forward's embedding output [B, T, H] (its shape is the noise's). */
  embedding: tf.Tensor3D;
  /** [B, T], 1 = real token: the noise is zero on padding, as MT-DNN's generate_noise. */
  attentionMask: tf.Tensor2D;
  taskType: TaskType;
  /** Candidates per question for ranking (the scores are regrouped to [B, groupSize]). */
  groupSize?: number;
  /** Seeds the noise (and, with dropout 'fresh', the adversarial forwards' dropout). */
  seed: number;
  /** The clean forward's dropout seed (undefined = unseeded dropout). */
  cleanDropoutSeed?: number;
}

export interface SmartResult {
  /** adv_loss, before alpha; 0 when the inner gradient was not finite. */
  advLoss: tf.Scalar;
  /** alpha · adv_loss: what goes into the training loss (SIWLM does not task-weight it, §2.3). */
  weighted: tf.Scalar;
  /** 1 when the inner gradient norm was finite, 0 when the step was skipped (no host read, no GPU stall). */
  finite: tf.Scalar;
  /** The final adversarial forward's output. */
  advLogits: tf.Tensor;
  /** The final perturbation p [B, T, H] (detached). */
  perturbation: tf.Tensor3D;
}

/**
 * A tensor with the same data and no tape history: ops recorded on an enclosing gradient tape cannot reach
 * through it (tfjs has no detach; a customGrad stop-gradient would still put the inner backward graph on the
 * outer tape's path, and some of its kernels have no gradient).
 */
export function detach<T extends tf.Tensor>(t: T): T {
  // What the Identity kernel does (one more reference to the same buffer), minus the tape node.
  const backend = tf.backend();
  backend.incRef(t.dataId);
  return tf.engine().makeTensorFromTensorInfo({ dataId: t.dataId, shape: t.shape, dtype: t.dtype }, backend) as T;
}

/** g / (max|g| over the last axis + ε) ('inf'), g / (‖g‖₂ over the last axis + ε) ('l2'), sign(g) ('l1'). */
export function normalizeGradient(g: tf.Tensor, norm: SmartNorm, epsilon: number): tf.Tensor {
  return tf.tidy(() => {
    if (norm === 'l1') return tf.sign(g);
    const scale = norm === 'l2' ? tf.norm(g, 'euclidean', -1, true) : tf.max(tf.abs(g), -1, true);
    return tf.div(g, tf.add(scale, epsilon));
  });
}

function grouped(x: tf.Tensor, type: TaskType, groupSize: number): tf.Tensor {
  return type === 'ranking' ? tf.reshape(x, [-1, groupSize]) : x;
}

function meanSquaredError(a: tf.Tensor, b: tf.Tensor): tf.Scalar {
  return tf.mean(tf.square(tf.sub(tf.reshape(a, [-1]), tf.reshape(b, [-1])))) as tf.Scalar;
}

/** The dropout seed of the adversarial forwards ('fresh'): a hash, so it is apart from the clean pass's seed, seed+1, …. */
export function adversarialDropoutSeed(seed: number): number {
  return new Rng(`smart/${seed >>> 0}/dropout`).nextUint32();
}

/** The noise's seed: hashed too, so the noise is not drawn from the stream of the clean pass's dropout masks. */
function noiseSeed(seed: number): number {
  return new Rng(`smart/${seed >>> 0}/noise`).nextUint32();
}

/**
 * The SMART term for one batch. Call it where the clean forward was made (inside the trainer's gradient
 * function): the returned loss is differentiable w.r.t. the model through the clean logits and the final
 * adversarial forward.
 */
export function smartAdversarialLoss(input: SmartInput, options: Partial<SmartOptions> = {}): SmartResult {
  const o = { ...SMART_DEFAULTS, ...options };
  if (!Number.isInteger(o.steps) || o.steps < 1) throw new Error(`smart: steps must be a positive integer, got ${o.steps}`);
  for (const k of ['alpha', 'noiseVar', 'stepSize', 'epsilon'] as const) {
    if (!(o[k] >= 0) || !Number.isFinite(o[k])) throw new Error(`smart: ${k} must be a finite number >= 0, got ${o[k]}`);
  }
  const { taskType: type, logits, embedding } = input;
  const groupSize = input.groupSize ?? 2;
  const advSeed = o.dropout === 'same' || input.cleanDropoutSeed === undefined ? input.cleanDropoutSeed : adversarialDropoutSeed(input.seed);
  const target = stopGradient(logits);

  // δ₀, zero on padding. [B, T, H]
  const [B, T, H] = embedding.shape;
  const mask = tf.reshape(tf.cast(input.attentionMask, 'float32'), [B, T, 1]);
  const noise = detach(tf.mul(tf.mul(tf.randomNormal([B, T, H], 0, 1, 'float32', noiseSeed(input.seed)), o.noiseVar), mask) as tf.Tensor3D);

  let perturbation = detach(tf.zeros([B, T, H]) as tf.Tensor3D);
  let finite = tf.scalar(1) as tf.Scalar;
  for (let k = 0; k < o.steps; k++) {
    const innerLoss = (n: tf.Tensor) => {
      const adv = input.forward(tf.add(perturbation, n) as tf.Tensor3D, advSeed);
      return type === 'regression' ? meanSquaredError(adv, target) : stableKl(grouped(adv, type, groupSize), grouped(target, type, groupSize));
    };
    const g = tf.grad(innerLoss)(noise);
    // Detached like the step: nothing derived from the inner gradient may sit on the outer tape's path.
    const ok = detach(tf.cast(tf.isFinite(tf.norm(g)), 'float32') as tf.Scalar);
    const direction = normalizeGradient(g, o.norm, o.epsilon);
    // A non-finite gradient zeroes the step (and, below, the loss); where() keeps NaN out of the product.
    const safe = tf.mul(tf.where(tf.isFinite(direction), direction, tf.zerosLike(direction)), ok);
    perturbation = detach(tf.add(perturbation, tf.mul(safe, o.stepSize)) as tf.Tensor3D);
    finite = tf.mul(finite, ok) as tf.Scalar;
  }

  const advLogits = input.forward(perturbation, advSeed);
  const raw = type === 'regression' ? meanSquaredError(logits, advLogits) : symmetricKl(grouped(logits, type, groupSize), grouped(advLogits, type, groupSize));
  const advLoss = tf.where(tf.greater(finite, 0), raw, tf.zerosLike(raw)) as tf.Scalar;
  return { advLoss, weighted: tf.mul(advLoss, o.alpha) as tf.Scalar, finite, advLogits, perturbation };
}

/** `forward` for smartAdversarialLoss from a MultiTaskModel task (the embedding delta is the encoder's SMART hook). */
export function taskAdversarialForward(model: MultiTaskModel, task: string, batch: BatchTensors, training = true): SmartInput['forward'] {
  return (delta, seed) => model.forwardTask(task, batch, { training, seed, embeddingDelta: delta }).output;
}

/** The SMART term of a trainer micro-batch: the clean forward is the one the trainer already made. */
export function smartLossForBatch(
  model: MultiTaskModel,
  task: string,
  batch: BatchTensors,
  clean: TaskForward,
  seed: number,
  options: Partial<SmartOptions> = {},
): SmartResult {
  const spec = model.slot(task).spec;
  return smartAdversarialLoss(
    {
      forward: taskAdversarialForward(model, task, batch),
      logits: clean.output,
      embedding: clean.encoder.embeddingOutput,
      attentionMask: batch.attentionMask,
      taskType: spec.type,
      seed,
      cleanDropoutSeed: seed,
    },
    options,
  );
}

/**
 * The trainer hook: SMART as an `unweighted` extra (SIWLM scales the task and KD losses by task_weight·α, never
 * the adversarial term, docs/methods.md §2.3). The trainer's step seed seeds the noise and the adversarial dropout.
 */
export function smartLossExtras(options: Partial<SmartOptions> = {}): LossExtras {
  return (ctx) => ({ unweighted: smartLossForBatch(ctx.model, ctx.task, ctx.batch, ctx.forward, ctx.seed, options).weighted });
}

/** The experiment's `smart` block as options (null when SMART is off). */
export function smartOptionsFromExperiment(smart: {
  enabled: boolean;
  alpha: number;
  noiseVar: number;
  stepSize: number;
  epsilon: number;
  steps: number;
}): Partial<SmartOptions> | null {
  if (!smart.enabled) return null;
  return { alpha: smart.alpha, noiseVar: smart.noiseVar, stepSize: smart.stepSize, epsilon: smart.epsilon, steps: smart.steps };
}
