import * as tf from '@tensorflow/tfjs';
import type { BertEncoder } from '../model/bertEncoder.ts';
import type { TaskHead } from '../model/heads/taskHead.ts';
import { disposeBatch, readStacked, singleExamples, taskLosses } from './exampleLoss.ts';
import { meanMatrix, normalizeGradts } from './importanceNormalize.ts';
import type { BatchSource, HeadMatrix, LossOptions } from './types.ts';

/**
 * The `gradts` head-importance measure, faithful to GradTS (docs/methods.md §3.2–3.4, §7 item 10): per example (its
 * own batch of 1), raw[l,h] = mean over head h's block of |∂loss/∂W_K| + |∂loss/∂W_V| (query ignored).
 *
 * Which block: the original views HF's dW [out, in] as [out, A, d] and takes [:, h, :], i.e. the INPUT
 * columns W[:, h·d:(h+1)·d], not the output rows that actually feed head h. Our kernels are stored
 * transposed, [in, out] (bertWeights.ts), so that block is kernel ROWS h·d..(h+1)·d, all columns.
 */

export interface GradtsResult {
  /** [N][L][A] raw statistic per example, in input order. */
  rawPerExample: number[][][];
  /** Mean of the raw matrices over examples, then per-layer L1 + global min-max (§3.3). */
  taskNormalized: HeadMatrix;
  /** Each example's raw matrix normalised on its own (§3.4). */
  instanceNormalized: number[][][];
  /** loss_i [N]. */
  perExampleLoss: number[];
}

/** |gK| + |gV| per head block → [A]. Kernels are [in, out]; head h = input rows h·d..(h+1)·d. */
function headBlockMeans(gK: tf.Tensor, gV: tf.Tensor, A: number): tf.Tensor1D {
  const [H, out] = gK.shape as [number, number];
  const d = H / A;
  return tf.mean(tf.reshape(tf.add(tf.abs(gK), tf.abs(gV)), [A, d * out]), 1) as tf.Tensor1D;
}

/** The [L, A] raw GradTS statistic of every example, with each example's loss. Dropout is ON unless
 * `training: false` (the original measures in train mode; pass a `dropoutSeed` to make it reproducible). */
export async function gradtsRawPerExample(
  model: BertEncoder,
  head: TaskHead,
  batches: BatchSource,
  lossOpts: LossOptions = {},
): Promise<{ raw: number[][][]; losses: number[] }> {
  const opts = { ...lossOpts, training: lossOpts.training ?? true };
  const A = model.numHeads;
  const layers = model.params.layers;
  // Only the K and V kernels: tfjs prunes the backward to the paths from these to the loss.
  const varList = layers.flatMap((w) => [w.key.kernel, w.value.kernel]);
  const raws: tf.Tensor[] = [];
  const losses: tf.Tensor[] = [];
  try {
    let i = 0;
    for await (const ex of singleExamples(batches)) {
      const seed = opts.dropoutSeed === undefined ? undefined : opts.dropoutSeed + 1000 * i++;
      try {
        const { value, raw } = tf.tidy(() => {
          const { value, grads } = tf.variableGrads(() => tf.sum(taskLosses(model, head, ex, { ...opts, dropoutSeed: seed })) as tf.Scalar, varList);
          const raw = tf.stack(layers.map((w) => headBlockMeans(grads[w.key.kernel.name], grads[w.value.kernel.name], A)));
          return { value, raw };
        });
        losses.push(value);
        raws.push(raw);
      } finally {
        disposeBatch(ex);
      }
    }
    return { raw: await readStacked<HeadMatrix>(raws), losses: await readStacked<number>(losses) };
  } finally {
    tf.dispose([...raws, ...losses]);
  }
}

/** GradTS task-level and instance-level head matrices of one task. */
export async function gradtsImportance(model: BertEncoder, head: TaskHead, batches: BatchSource, opts: LossOptions = {}): Promise<GradtsResult> {
  const { raw, losses } = await gradtsRawPerExample(model, head, batches, opts);
  if (raw.length === 0) throw new Error('gradtsImportance: no examples');
  return {
    rawPerExample: raw,
    taskNormalized: normalizeGradts(meanMatrix(raw)),
    instanceNormalized: raw.map((r) => normalizeGradts(r)),
    perExampleLoss: losses,
  };
}
