import * as tf from '@tensorflow/tfjs';
import type { TaskHead } from '../model/heads/taskHead.ts';
import type { BatchTensors } from './batchTensors.ts';
import type { MultiTaskModel, TaskForward } from '../model/multiTaskModel.ts';

/** What a loss extension sees: the batch, the model and the forward pass it may reuse (inside the gradient tape). */
export interface LossContext {
  task: string;
  taskId: number;
  head: TaskHead;
  model: MultiTaskModel;
  batch: BatchTensors;
  forward: TaskForward;
  /** The step's dropout seed (a second forward, e.g. SMART's perturbed one, should use its own). */
  seed: number;
  /** Example ids of the batch's rows (knowledge distillation matches soft labels by uid). */
  uids?: readonly string[];
}

/**
 * Extra loss terms: knowledge distillation (`weighted`: SIWLM scales it like the task loss) or SMART's
 * adversarial term (`unweighted`, docs/methods.md §2.3). Called inside the gradient function; return null for none.
 */
export type LossExtras = (ctx: LossContext) => { weighted?: tf.Scalar; unweighted?: tf.Scalar } | null;

export interface MicroBatchOptions {
  seed: number;
  /** SIWLM task_weight · α, or 1. */
  weight: number;
  /** 1 / gradAccumulation. */
  scale: number;
  lossExtras?: LossExtras;
  uids?: readonly string[];
}

export interface MicroBatchResult {
  /** The task's own loss, unweighted (what the logs show). The caller disposes it. */
  taskLoss: tf.Scalar;
  /** The differentiated loss (weighted, with extras, scaled). The caller disposes it. */
  totalLoss: tf.Scalar;
  /** d(weight · (task loss + weighted extras) + unweighted extras) · scale / dθ, by parameter name. */
  grads: Map<string, tf.Tensor>;
}

/**
 * Forward + backward of one single-task batch. Only the encoder (with its extension) and this task's head are
 * differentiated: the other heads get no gradient, as in MT-DNN where their grads stay zero.
 */
export function microBatchGradients(model: MultiTaskModel, task: string, batch: BatchTensors, opts: MicroBatchOptions): MicroBatchResult {
  const vars = model.taskVariables(task);
  const nameOf = new Map<string, string>();
  for (const [name, v] of vars) nameOf.set(v.name, name);
  const head = model.head(task);
  let taskLoss = null as tf.Scalar | null;
  const { value, grads } = tf.variableGrads(() => {
    const forward = model.forwardTask(task, batch, { training: true, seed: opts.seed });
    const loss = head.loss(forward.output, batch.labels);
    // A copy: when nothing scales the loss it is also the returned value, which variableGrads hands back.
    taskLoss = tf.keep(tf.clone(loss));
    const extra = opts.lossExtras?.({ task, taskId: model.taskId(task), head, model, batch, forward, seed: opts.seed, uids: opts.uids }) ?? null;
    let total: tf.Scalar = extra?.weighted ? tf.add(loss, extra.weighted) : loss;
    if (opts.weight !== 1) total = tf.mul(total, opts.weight);
    if (extra?.unweighted) total = tf.add(total, extra.unweighted);
    return (opts.scale !== 1 ? tf.mul(total, opts.scale) : total) as tf.Scalar;
  }, [...vars.values()]);
  const out = new Map<string, tf.Tensor>();
  for (const [tfName, g] of Object.entries(grads)) {
    const name = nameOf.get(tfName);
    if (!name) {
      tf.dispose([...Object.values(grads), value, taskLoss!]);
      throw new Error(`trainStep: gradient for unknown variable ${tfName}`);
    }
    out.set(name, g);
  }
  return { taskLoss: taskLoss!, totalLoss: value, grads: out };
}

/** acc += g for every gradient (both maps' tensors are consumed; acc's old tensors are disposed). */
export function accumulateGradients(acc: Map<string, tf.Tensor>, grads: Map<string, tf.Tensor>): void {
  for (const [name, g] of grads) {
    const prev = acc.get(name);
    if (!prev) {
      acc.set(name, g);
      continue;
    }
    acc.set(name, tf.add(prev, g));
    prev.dispose();
    g.dispose();
  }
}
