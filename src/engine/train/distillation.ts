import * as tf from '@tensorflow/tfjs';
import type { TaskType } from '../../../datasets/types.ts';
import type { LossContext, LossExtras } from './trainStep.ts';

/**
 * Knowledge distillation (MT-DNN-KD, docs/methods.md §1.12): a student learns from the class probabilities an ensemble of
 * teachers gives each *training* example, on top of the hard labels. Regression (and ranking) tasks get no KD
 * term, and a task without a teacher file trains on hard labels only.
 *
 * Soft-label file (`<task>.<split>.soft.jsonl`, written by the pipeline's predict stage):
 *   line 1: {"format":"taskscope-soft-labels/1","task":"RTE","split":"train","numLabels":2,"teachers":3}
 *   then one line per example: {"uid":"17","probs":[0.25,0.75]}
 * `probs` are in the registry's label order, each ≥ 0, summing to 1 (±1e-3); uids are unique.
 */

export const SOFT_LABELS_FORMAT = 'taskscope-soft-labels/1';

/** The two KD losses of the originals: 'kl' = the first KD code (c0de411), 'mse' = the yml-era kd_loss MseCriterion. */
export type KdVariant = 'kl' | 'mse';

export interface SoftLabelHeader {
  format: typeof SOFT_LABELS_FORMAT;
  task: string;
  split: string;
  numLabels: number;
  /** Models averaged into the probabilities (1 = a single teacher). */
  teachers: number;
}

/** A task's teacher probabilities by example uid. */
export class SoftLabels {
  constructor(
    readonly header: SoftLabelHeader,
    readonly byUid: ReadonlyMap<string, Float32Array>,
  ) {}

  get task(): string {
    return this.header.task;
  }

  get numLabels(): number {
    return this.header.numLabels;
  }

  /** The batch's targets, row-major [uids.length × C]; every uid must have a soft label. */
  batch(uids: readonly string[]): Float32Array {
    const C = this.numLabels;
    const out = new Float32Array(uids.length * C);
    const missing: string[] = [];
    uids.forEach((u, i) => {
      const q = this.byUid.get(u);
      if (q) out.set(q, i * C);
      else missing.push(u);
    });
    if (missing.length) {
      const shown = missing.slice(0, 5).join(', ') + (missing.length > 5 ? `, … (${missing.length} in all)` : '');
      throw new Error(
        `knowledge distillation: no ${this.task} soft label for uid ${shown} (the teacher file has ${this.byUid.size} examples of ${this.header.split})`,
      );
    }
    return out;
  }
}

/** One model's probabilities on a split, in any row order (what predict gives: `scores` flattened [rows × C]). */
export interface TeacherPredictions {
  uids: readonly string[];
  scores: ArrayLike<number>;
}

/**
 * The ensemble's soft labels: the mean of the teachers' class probabilities per example (docs/methods.md §1.12). All
 * teachers must cover the same examples.
 */
export function averageTeachers(task: string, split: string, numLabels: number, teachers: readonly TeacherPredictions[]): SoftLabels {
  if (teachers.length === 0) throw new Error(`knowledge distillation: no teacher predictions for ${task}`);
  if (!Number.isInteger(numLabels) || numLabels < 2) throw new Error(`knowledge distillation: ${task} needs at least 2 classes, got ${numLabels}`);
  const sums = new Map<string, Float64Array>();
  teachers.forEach((t, k) => {
    if (t.scores.length !== t.uids.length * numLabels) {
      throw new Error(`knowledge distillation: teacher ${k + 1} of ${task} has ${t.scores.length} scores for ${t.uids.length} examples × ${numLabels} classes`);
    }
    const seen = new Set<string>();
    t.uids.forEach((u, i) => {
      if (seen.has(u)) throw new Error(`knowledge distillation: teacher ${k + 1} of ${task} lists uid ${u} twice`);
      seen.add(u);
      let acc = sums.get(u);
      if (!acc) {
        if (k > 0) throw new Error(`knowledge distillation: uid ${u} of ${task} is in teacher ${k + 1} but not in teacher 1`);
        acc = new Float64Array(numLabels);
        sums.set(u, acc);
      }
      for (let c = 0; c < numLabels; c++) acc[c] += t.scores[i * numLabels + c];
    });
    if (seen.size !== sums.size) {
      const lacking = [...sums.keys()].filter((u) => !seen.has(u)).slice(0, 5);
      throw new Error(`knowledge distillation: teacher ${k + 1} of ${task} has no prediction for uid ${lacking.join(', ')}`);
    }
  });
  const byUid = new Map<string, Float32Array>();
  for (const [u, acc] of sums)
    byUid.set(
      u,
      Float32Array.from(acc, (x) => x / teachers.length),
    );
  return new SoftLabels({ format: SOFT_LABELS_FORMAT, task, split, numLabels, teachers: teachers.length }, byUid);
}

/** The soft-label file's text (header line, then one `{uid, probs}` line per example, in insertion order). */
export function serializeSoftLabels(s: SoftLabels): string {
  const lines = [JSON.stringify(s.header)];
  for (const [uid, probs] of s.byUid) lines.push(JSON.stringify({ uid, probs: Array.from(probs) }));
  return `${lines.join('\n')}\n`;
}

/** Reads a soft-label file; errors name the file, line and field. */
export function parseSoftLabels(text: string, origin = 'soft labels'): SoftLabels {
  const lines = text.split('\n');
  if (lines.length && lines[lines.length - 1] === '') lines.pop();
  const json = (i: number): Record<string, unknown> => {
    let v: unknown;
    try {
      v = JSON.parse(lines[i]);
    } catch (e) {
      throw new Error(`${origin}:${i + 1}: not valid JSON (${(e as Error).message})`);
    }
    if (!v || typeof v !== 'object' || Array.isArray(v)) throw new Error(`${origin}:${i + 1}: expected a JSON object`);
    return v as Record<string, unknown>;
  };
  if (lines.length === 0) throw new Error(`${origin}: empty file (expected a header line {"format":"${SOFT_LABELS_FORMAT}",…})`);
  const h = json(0);
  if (h.format !== SOFT_LABELS_FORMAT) throw new Error(`${origin}:1: field format: expected "${SOFT_LABELS_FORMAT}", got ${JSON.stringify(h.format)}`);
  for (const k of ['task', 'split'] as const) if (typeof h[k] !== 'string' || !h[k]) throw new Error(`${origin}:1: field ${k}: expected a non-empty string`);
  const C = h.numLabels;
  if (typeof C !== 'number' || !Number.isInteger(C) || C < 2)
    throw new Error(`${origin}:1: field numLabels: expected an integer >= 2, got ${JSON.stringify(C)}`);
  const teachers = h.teachers ?? 1;
  if (typeof teachers !== 'number' || !Number.isInteger(teachers) || teachers < 1)
    throw new Error(`${origin}:1: field teachers: expected an integer >= 1, got ${JSON.stringify(teachers)}`);
  const byUid = new Map<string, Float32Array>();
  for (let i = 1; i < lines.length; i++) {
    if (lines[i].trim() === '') throw new Error(`${origin}:${i + 1}: empty line`);
    const r = json(i);
    const uid = r.uid;
    if (typeof uid !== 'string' || uid === '') throw new Error(`${origin}:${i + 1}: field uid: expected a non-empty string, got ${JSON.stringify(uid)}`);
    if (byUid.has(uid)) throw new Error(`${origin}:${i + 1}: field uid: ${uid} appears twice`);
    const p = r.probs;
    if (!Array.isArray(p) || p.length !== C) throw new Error(`${origin}:${i + 1}: field probs: expected an array of ${C} numbers, got ${JSON.stringify(p)}`);
    let sum = 0;
    p.forEach((x, c) => {
      if (typeof x !== 'number' || !Number.isFinite(x) || x < 0)
        throw new Error(`${origin}:${i + 1}: field probs[${c}]: expected a finite number >= 0, got ${JSON.stringify(x)}`);
      sum += x;
    });
    if (Math.abs(sum - 1) > 1e-3) throw new Error(`${origin}:${i + 1}: field probs: sums to ${sum}, not 1`);
    byUid.set(uid, Float32Array.from(p as number[]));
  }
  return new SoftLabels({ format: SOFT_LABELS_FORMAT, task: h.task as string, split: h.split as string, numLabels: C, teachers }, byUid);
}

/**
 * The first KD code's term (docs/methods.md §1.12): C · KLDivLoss(log_softmax(logits), q), PyTorch's default reduction.
 * KLDivLoss(x, q) with reduction 'mean' averages q·(log q − x) over all B·C entries, so
 *   C · (1/(B·C)) Σ_i Σ_c q_ic (log q_ic − log p_ic) = (1/B) Σ_i KL(q_i ‖ p_i),
 * the per-example KL from the teacher to the student, averaged over the batch (temperature 1). Entries with
 * q = 0 add 0, as in PyTorch (0·log 0 = 0).
 */
export function kdKlLoss(logits: tf.Tensor, q: tf.Tensor): tf.Scalar {
  return tf.tidy(() => {
    const C = logits.shape[logits.shape.length - 1]!;
    const safeLogQ = tf.log(tf.where(tf.greater(q, 0), q, tf.onesLike(q)));
    const pointwise = tf.mul(q, tf.sub(safeLogQ, tf.logSoftmax(logits)));
    return tf.mul(tf.mean(pointwise), C) as tf.Scalar;
  });
}

/** The yml-era term: MseCriterion(logits, soft labels) = mean over the B·C entries of (logit − q)². */
export function kdMseLoss(logits: tf.Tensor, q: tf.Tensor): tf.Scalar {
  return tf.tidy(() => tf.mean(tf.square(tf.sub(logits, q))) as tf.Scalar);
}

/** The KD term of a batch, or null where there is none (regression and ranking tasks). */
export function distillationLoss(variant: KdVariant, type: TaskType, logits: tf.Tensor, q: tf.Tensor): tf.Scalar | null {
  if (type !== 'classification') return null;
  if (logits.shape.length !== 2 || q.shape.length !== 2 || logits.shape[0] !== q.shape[0] || logits.shape[1] !== q.shape[1]) {
    throw new Error(`knowledge distillation: logits [${logits.shape}] and soft labels [${q.shape}] must both be [B, C]`);
  }
  return variant === 'kl' ? kdKlLoss(logits, q) : kdMseLoss(logits, q);
}

/** What the KD hook needs beyond the trainer's LossContext: the batch's example uids (host side). */
export type DistillationContext = LossContext & { uids?: readonly string[] };

/**
 * The trainer hook: the KD term as a `weighted` extra (SIWLM scales it like the task loss, docs/methods.md §2.3). Tasks
 * without soft labels, and regression/ranking tasks, get nothing.
 */
export function distillationLossExtras(teachers: ReadonlyMap<string, SoftLabels>, variant: KdVariant): LossExtras {
  return (ctx: DistillationContext) => {
    const soft = teachers.get(ctx.task);
    const type = ctx.model.slot(ctx.task).spec.type;
    if (!soft || type !== 'classification') return null;
    if (!ctx.uids)
      throw new Error('knowledge distillation: the trainer passed no example uids with the batch (LossContext.uids), so soft labels cannot be matched to rows');
    const C = soft.numLabels;
    if (ctx.forward.output.shape[1] !== C)
      throw new Error(`knowledge distillation: ${ctx.task} head has ${ctx.forward.output.shape[1]} outputs but the soft labels have ${C}`);
    const q = tf.tensor2d(soft.batch(ctx.uids), [ctx.uids.length, C]);
    return { weighted: distillationLoss(variant, type, ctx.forward.output, q)! };
  };
}

/** Several soft-label files of one task and split averaged into one (an ensemble of teacher files). */
export function combineSoftLabels(files: readonly SoftLabels[]): SoftLabels {
  if (files.length === 0) throw new Error('knowledge distillation: no soft-label files to combine');
  const [first] = files;
  if (files.length === 1) return first;
  for (const f of files) {
    if (f.task !== first.task || f.header.split !== first.header.split || f.numLabels !== first.numLabels) {
      throw new Error(
        `knowledge distillation: cannot average soft labels of ${f.task} ${f.header.split} (${f.numLabels} classes) with ${first.task} ${first.header.split} (${first.numLabels} classes)`,
      );
    }
  }
  const teachers = files.map((f) => {
    const uids = [...f.byUid.keys()];
    const scores = new Float32Array(uids.length * f.numLabels);
    uids.forEach((u, i) => scores.set(f.byUid.get(u)!, i * f.numLabels));
    return { uids, scores };
  });
  const avg = averageTeachers(first.task, first.header.split, first.numLabels, teachers);
  // Each file may itself be an ensemble: the header counts every model behind the average.
  return new SoftLabels({ ...avg.header, teachers: files.reduce((n, f) => n + f.header.teachers, 0) }, avg.byUid);
}
