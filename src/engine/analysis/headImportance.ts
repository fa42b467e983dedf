import * as tf from '@tensorflow/tfjs';
import type { BertEncoder } from '../model/bertEncoder.ts';
import type { TaskHead } from '../model/heads/taskHead.ts';
import { disposeBatch, readStacked, singleExamples, taskLosses } from './exampleLoss.ts';
import { normalizeMaskImportance } from './importanceNormalize.ts';
import { LiveMaskImportance } from './liveMaskImportance.ts';
import type { BatchSource, HeadMatrix, LabelledBatch, LossOptions } from './types.ts';

/**
 * The `mask` head-importance measure (Taskscope decision 7; Michel et al. 2019, HF bertology): a head mask
 * m ∈ R^{L×A} multiplies every head's attention probabilities, and I[l,h] = Σ_i |∂loss_i/∂m[l,h]| at m = 1.
 */

export interface MaskImportanceResult {
  raw: HeadMatrix;
  normalized: HeadMatrix;
  /** Examples (perExample) or batches (live variant) that went into `raw`. */
  count: number;
  /** ∂loss_i/∂m, signed, [N][L][A] (perExample only). */
  perExample?: number[][][];
  /** loss_i [N] (perExample only). */
  perExampleLoss?: number[];
}

function onesMask(model: BertEncoder): tf.Tensor2D {
  return tf.ones([model.numLayers, model.numHeads]) as tf.Tensor2D;
}

/** ∂(mean loss over the batch)/∂m at m = 1, signed, [L][A]: one backward pass. This is what a training
 * step can afford ("live" importance); the mean of the per-example gradients, not of their magnitudes. */
export async function batchMeanLossMaskGrad(model: BertEncoder, head: TaskHead, batch: LabelledBatch, opts: LossOptions = {}): Promise<HeadMatrix> {
  const g = tf.tidy(() => {
    const m = onesMask(model);
    return tf.grad((mask: tf.Tensor) => tf.mean(taskLosses(model, head, batch, { ...opts, headMask: mask as tf.Tensor2D })))(m);
  });
  try {
    return (await g.array()) as HeadMatrix;
  } finally {
    g.dispose();
  }
}

/** Each example's own loss and ∂loss_i/∂m, one batch-1 backward per example (the mask is shared by the
 * batch, so a batched backward would only give the sum). */
export async function perExampleMaskGrads(
  model: BertEncoder,
  head: TaskHead,
  batches: BatchSource,
  opts: LossOptions = {},
): Promise<{ grads: number[][][]; losses: number[] }> {
  const grads: tf.Tensor[] = [];
  const losses: tf.Tensor[] = [];
  try {
    let i = 0;
    for await (const ex of singleExamples(batches)) {
      const seed = opts.dropoutSeed === undefined ? undefined : opts.dropoutSeed + 1000 * i++;
      try {
        const { value, grad } = tf.tidy(() => {
          const m = onesMask(model);
          return tf.valueAndGrad(
            (mask: tf.Tensor) => tf.sum(taskLosses(model, head, ex, { ...opts, dropoutSeed: seed, headMask: mask as tf.Tensor2D })) as tf.Scalar,
          )(m);
        });
        losses.push(value);
        grads.push(grad);
      } finally {
        disposeBatch(ex);
      }
    }
    return { grads: await readStacked<HeadMatrix>(grads), losses: await readStacked<number>(losses) };
  } finally {
    tf.dispose([...grads, ...losses]);
  }
}

/**
 * Mask importance over batches. `perExample: true` is the definition (Σ_i |∂loss_i/∂m|, one backward per
 * example); `perExample: false` is the cheap live variant, Σ_batches |∂ mean-loss/∂m| (one backward per
 * batch; equal to the definition only for batches of one). Both are normalised per layer by the L2 norm
 * over heads (+1e-20), then min-max over all heads.
 */
export async function maskImportance(
  model: BertEncoder,
  head: TaskHead,
  batches: BatchSource,
  opts: LossOptions & { perExample: boolean },
): Promise<MaskImportanceResult> {
  if (opts.perExample) {
    const { grads, losses } = await perExampleMaskGrads(model, head, batches, opts);
    if (grads.length === 0) throw new Error('maskImportance: no examples');
    const raw = grads[0].map((row, l) => row.map((_, h) => grads.reduce((s, g) => s + Math.abs(g[l][h]), 0)));
    return { raw, normalized: normalizeMaskImportance(raw), count: grads.length, perExample: grads, perExampleLoss: losses };
  }
  const live = new LiveMaskImportance();
  let b = 0;
  for await (const batch of batches) {
    const seed = opts.dropoutSeed === undefined ? undefined : opts.dropoutSeed + 1000 * b++;
    live.addBatch(await batchMeanLossMaskGrad(model, head, batch, { ...opts, dropoutSeed: seed }));
  }
  const cur = live.current();
  return { raw: cur.raw, normalized: cur.normalized, count: cur.batches };
}
