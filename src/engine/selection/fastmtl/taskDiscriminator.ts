import * as tf from '@tensorflow/tfjs';
import type { EncoderExtension } from '../../model/encoderExtension.ts';
import { LinearLayer, type LinearSnapshot } from '../../model/heads/linearLayer.ts';
import { dropout } from '../../model/ops.ts';
import type { LossExtras } from '../../train/trainStep.ts';

/**
 * FastMTL's task discriminator (docs/methods.md §4.1): Linear(H, T) on the same dropped-out pooled vector the task heads
 * read, trained jointly with the task losses, with a BCE (DBCE, default) or CE (DCE) loss.
 *
 * How it rides on the trainer: the trainer differentiates and optimises `model.taskVariables(task)`, which is
 * the encoder's variables plus the batch's head. The discriminator is therefore carried as an encoder
 * extension with no hooks (it changes nothing in the encoder's forward), so its weights are in that set, get
 * their gradient through `lossExtras`, are stepped by the trainer's optimiser and are saved in its train states.
 */

export type DiscriminatorLossKind = 'bce' | 'ce';
/** 'sigmoid' is FastMTL's prediction for both variants (§4.1); 'softmax' is the clean option for CE (decision 9). */
export type DiscriminatorScoring = 'sigmoid' | 'softmax';

export const DISCRIMINATOR_PREFIX = 'task_discriminator';

/** The same offset MultiTaskModel gives a head's dropout seed (multiTaskModel.ts HEAD_SEED_OFFSET): the
 * discriminator must see the head's dropout mask. A test checks that the two masks agree. */
const HEAD_SEED_OFFSET = 0x3c6ef372;

export function headDropoutSeed(stepSeed: number): number {
  return (stepSeed + HEAD_SEED_OFFSET) >>> 0;
}

export class TaskDiscriminator {
  readonly linear: LinearLayer;

  constructor(
    readonly hiddenSize: number,
    readonly numTasks: number,
    init: LinearSnapshot | { seed: number } = { seed: 0 },
  ) {
    if (!Number.isInteger(numTasks) || numTasks < 2) throw new Error(`task discriminator: needs at least 2 tasks, got ${numTasks}`);
    this.linear = new LinearLayer(DISCRIMINATOR_PREFIX, hiddenSize, numTasks, init);
  }

  /** z = W·x + b, [B, T]. */
  logits(pooled: tf.Tensor2D): tf.Tensor2D {
    return this.linear.apply(pooled) as tf.Tensor2D;
  }

  namedVariables(): Map<string, tf.Variable> {
    return this.linear.namedVariables(DISCRIMINATOR_PREFIX);
  }

  dispose(): void {
    this.linear.dispose();
  }
}

/**
 * An encoder extension that carries the discriminator's variables and forwards every hook to the extension
 * already there (an encoder variant), so both train together.
 */
export function discriminatorExtension(td: TaskDiscriminator, inner: EncoderExtension | null): EncoderExtension {
  const ext: EncoderExtension = {
    namedVariables() {
      const m = inner ? inner.namedVariables() : new Map<string, tf.Variable>();
      for (const [n, v] of td.namedVariables()) {
        if (m.has(n)) throw new Error(`task discriminator: the encoder extension already has a variable ${n}`);
        m.set(n, v);
      }
      return m;
    },
    dispose() {
      inner?.dispose();
      td.dispose();
    },
  };
  if (inner?.projectionDeltas) ext.projectionDeltas = inner.projectionDeltas.bind(inner);
  if (inner?.layerDelta) ext.layerDelta = inner.layerDelta.bind(inner);
  return ext;
}

/**
 * torch BCEWithLogitsLoss(pos_weight) with mean reduction over all B·T entries:
 * l = p_j·y·softplus(−z) + (1 − y)·softplus(z), the stable form of −[p_j·y·log σ(z) + (1 − y)·log(1 − σ(z))].
 */
export function bceWithLogits(z: tf.Tensor2D, targets: tf.Tensor2D, posWeight?: tf.Tensor1D): tf.Scalar {
  return tf.tidy(() => {
    const pos = tf.mul(targets, tf.softplus(tf.neg(z)));
    const weighted = posWeight ? tf.mul(pos, posWeight) : pos;
    const neg = tf.mul(tf.sub(1, targets), tf.softplus(z));
    return tf.mean(tf.add(weighted, neg)) as tf.Scalar;
  });
}

/** The discriminator's loss for rows that all belong to task `taskId` (every trainer batch is one task). */
export function discriminatorLoss(z: tf.Tensor2D, taskId: number, kind: DiscriminatorLossKind, posWeight?: readonly number[]): tf.Scalar {
  const [B, T] = z.shape;
  if (!Number.isInteger(taskId) || taskId < 0 || taskId >= T) throw new Error(`task discriminator: task id ${taskId} is outside 0..${T - 1}`);
  if (posWeight && posWeight.length !== T) throw new Error(`task discriminator: pos_weight has ${posWeight.length} entries for ${T} tasks`);
  return tf.tidy(() => {
    const ids = tf.fill([B], taskId, 'int32') as tf.Tensor1D;
    const onehot = tf.oneHot(ids, T) as tf.Tensor2D;
    if (kind === 'ce') return tf.mean(tf.neg(tf.sum(tf.mul(onehot, tf.logSoftmax(z)), -1))) as tf.Scalar;
    return bceWithLogits(z, tf.cast(onehot, 'float32') as tf.Tensor2D, posWeight ? tf.tensor1d(posWeight as number[]) : undefined);
  });
}

/** Per-task probabilities [B, T] from logits. */
export function discriminatorProbs(z: tf.Tensor2D, scoring: DiscriminatorScoring): tf.Tensor2D {
  return (scoring === 'softmax' ? tf.softmax(z) : tf.sigmoid(z)) as tf.Tensor2D;
}

/**
 * The trainer's loss extension for TD-MTDNN: the discriminator on the task head's dropped-out pooled vector
 * (same rate, same seed, hence the same mask), its loss added with weight 1 (`--train_task_disc`).
 * `taskIds` maps the model's task names to discriminator outputs (the model's task order by default).
 */
export function discriminatorLossExtras(
  td: TaskDiscriminator,
  opts: { kind: DiscriminatorLossKind; posWeight?: readonly number[]; taskIds?: Readonly<Record<string, number>> },
): LossExtras {
  return (ctx) => {
    const rate = ctx.model.slot(ctx.task).spec.dropout;
    const x = dropout(ctx.forward.features.pooled, rate, true, headDropoutSeed(ctx.seed)) as tf.Tensor2D;
    const id = opts.taskIds ? opts.taskIds[ctx.task] : ctx.taskId;
    if (id === undefined) throw new Error(`task discriminator: no discriminator output for task ${ctx.task}`);
    return { unweighted: discriminatorLoss(td.logits(x), id, opts.kind, opts.posWeight) };
  };
}
