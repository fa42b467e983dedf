import * as tf from '@tensorflow/tfjs';
import { BatchReader } from '../data/batchReader.ts';
import type { LoadedSplit } from '../data/shardReader.ts';
import { bestF1Threshold, thresholdPredictions } from '../metrics/f1Threshold.ts';
import { computeMetric, type MetricName } from '../metrics/index.ts';
import { batchToTensors, disposeBatch } from './batchTensors.ts';
import type { MultiTaskModel } from '../model/multiTaskModel.ts';
import type { TaskSpec } from '../model/taskSpec.ts';

/** A split's predictions, in the split's row order. */
export interface SplitPredictions {
  task: string;
  uids: string[];
  /** Class ids (classification, ranking) or scores (regression: the raw output, Taskscope decision 4). */
  predictions: Float32Array;
  /** Per row: softmax probabilities [C] flattened (classification) or the score (regression, ranking). */
  scores: Float32Array;
  labels: Float32Array;
  /** Mean dev loss over labelled rows (NaN on unlabelled splits). */
  loss: number;
}

export interface TaskEvaluation {
  task: string;
  rows: number;
  loss: number;
  /** 0–1 scale, dataset-level (Taskscope decision 5). */
  metrics: Partial<Record<MetricName, number>>;
  /** GLUE's per-task score: the mean of its metrics, MCC alone for CoLA/AX. */
  score: number;
  /** Set when the class predictions came from an F1 decision threshold rather than argmax (thresholdHoldout). */
  decision?: DecisionThreshold;
}

/** A positive-class threshold chosen on held-out training rows, and what argmax would have scored instead. */
export interface DecisionThreshold {
  threshold: number;
  /** Held-out training rows it was chosen on, and the F1 it reached there. */
  holdoutRows: number;
  holdoutF1: number;
  /** The same split's metrics with argmax predictions, for comparison. */
  argmaxMetrics?: Partial<Record<MetricName, number>>;
}

export interface EvaluationResult {
  step: number;
  epoch: number;
  tasks: TaskEvaluation[];
  /** Unweighted mean of the task scores. */
  glueScore: number;
}

/** Runs a split through the model in eval mode (no dropout), in row order. */
export async function predictSplit(model: MultiTaskModel, spec: TaskSpec, split: LoadedSplit, batchSize: number): Promise<SplitPredictions> {
  const reader = new BatchReader([split], { batchSize, seed: 0, shuffle: false, bucketBatches: 1 });
  const head = model.head(spec.name);
  const width = spec.type === 'classification' ? spec.numLabels : 1;
  const predictions = new Float32Array(split.rows);
  const scores = new Float32Array(split.rows * width);
  const labels = new Float32Array(split.rows);
  const uids: string[] = [];
  const labelled = split.rows > 0 && !Number.isNaN(split.labels[0]);
  let lossSum = 0;
  let row = 0;
  for (const b of reader.restOfEpoch()) {
    const outs = tf.tidy(() => {
      // Unlabelled rows carry NaN labels: upload zeros so class-id checks pass; their loss is not used.
      const t = batchToTensors(labelled ? b : { ...b, labels: new Float32Array(b.batchSize) }, spec.type, spec.numLabels);
      const { output } = model.forwardTask(spec.name, t, { training: false });
      const pred = head.predict(output);
      const score = spec.type === 'classification' ? tf.softmax(output) : tf.reshape(output, [-1]);
      const loss = labelled ? tf.mul(head.loss(output, t.labels), b.batchSize) : tf.scalar(NaN);
      disposeBatch(t);
      return [pred, score, loss];
    });
    const [p, s, l] = await Promise.all(outs.map((t) => t.data()));
    tf.dispose(outs);
    predictions.set(p as Float32Array, row);
    scores.set(s as Float32Array, row * width);
    labels.set(b.labels, row);
    lossSum += (l as Float32Array)[0];
    uids.push(...b.uids);
    row += b.batchSize;
  }
  return { task: spec.name, uids, predictions, scores, labels, loss: labelled ? lossSum / Math.max(1, split.rows) : NaN };
}

/** Which metrics make up GLUE's task score: CoLA and AX are scored by MCC alone, the rest by the mean of theirs. */
export function scoreMetrics(spec: TaskSpec): MetricName[] {
  return spec.metrics.includes('mcc') ? ['mcc'] : spec.metrics;
}

/** GLUE's task score from the task's metrics (NaN when one of them is missing). */
export function taskScoreOf(spec: TaskSpec, metrics: Partial<Record<MetricName, number>>): number {
  const used = scoreMetrics(spec).map((m) => metrics[m] ?? NaN);
  return used.reduce((a, b) => a + b, 0) / used.length;
}

export function taskMetrics(spec: TaskSpec, p: SplitPredictions, decision?: DecisionThreshold): TaskEvaluation {
  if (decision) {
    // acc/F1/MCC from the threshold; the argmax figures are kept beside them so the two can be compared.
    const argmax = taskMetrics(spec, p);
    const thresholded = taskMetrics(spec, withDecision(spec, p, decision));
    return { ...thresholded, decision: { ...decision, argmaxMetrics: argmax.metrics } };
  }
  const metrics: Partial<Record<MetricName, number>> = {};
  for (const m of spec.metrics) {
    // Correlations take the regression scores; accuracy, F1 and MCC the argmax predictions (docs/methods.md §1.10).
    const preds = m === 'pearson' || m === 'spearman' ? p.scores : m === 'auc' ? positiveProbs(spec, p) : p.predictions;
    metrics[m] = p.labels.length === 0 ? NaN : computeMetric(m, preds, p.labels);
  }
  return { task: spec.name, rows: p.labels.length, loss: p.loss, metrics, score: taskScoreOf(spec, metrics) };
}

/** The F1-maximising threshold of a binary task, chosen on held-out training rows (thresholdHoldout). */
export async function chooseDecisionThreshold(model: MultiTaskModel, spec: TaskSpec, holdout: LoadedSplit, batchSize: number): Promise<DecisionThreshold> {
  const p = await predictSplit(model, spec, holdout, batchSize);
  const best = bestF1Threshold(positiveProbs(spec, p), p.labels);
  return { threshold: best.threshold, holdoutRows: holdout.rows, holdoutF1: best.f1 };
}

/** The predictions with class ids from the decision threshold instead of argmax; unchanged without one. */
export function withDecision(spec: TaskSpec, p: SplitPredictions, decision: DecisionThreshold | undefined): SplitPredictions {
  return decision ? { ...p, predictions: thresholdPredictions(positiveProbs(spec, p), decision.threshold) } : p;
}

/** P(class 1) per row of a binary classification task's predictions (AUC, F1 decision thresholds). */
export function positiveProbs(spec: TaskSpec, p: Pick<SplitPredictions, 'scores'>): Float32Array {
  if (spec.type !== 'classification' || spec.numLabels !== 2) throw new Error(`${spec.name}: AUC and F1 thresholds need a binary classification task`);
  return p.scores.filter((_, i) => i % 2 === 1);
}

/**
 * Dev metrics of every task with a dev split, and their average (the GLUE score of those tasks). A task with a
 * `holdout` split has its decision threshold chosen there first (F1 tasks with thresholdHoldout).
 */
export async function evaluateTasks(
  model: MultiTaskModel,
  tasks: readonly { spec: TaskSpec; dev?: LoadedSplit; holdout?: LoadedSplit }[],
  batchSize: number,
  at: { step: number; epoch: number },
): Promise<EvaluationResult> {
  const out: TaskEvaluation[] = [];
  for (const { spec, dev, holdout } of tasks) {
    if (!dev) continue;
    const decision = holdout ? await chooseDecisionThreshold(model, spec, holdout, batchSize) : undefined;
    out.push(taskMetrics(spec, await predictSplit(model, spec, dev, batchSize), decision));
  }
  const glueScore = out.length ? out.reduce((a, t) => a + t.score, 0) / out.length : NaN;
  return { step: at.step, epoch: at.epoch, tasks: out, glueScore };
}
