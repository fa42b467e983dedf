import type { LoadedSplit } from '../data/shardReader.ts';
import { computeMetric, type MetricName } from '../metrics/index.ts';
import type { TaskSpec } from '../model/taskSpec.ts';

/**
 * What a model that ignores its input scores on a task's dev rows: the reference a dev curve is read against.
 * Classification (and ranking, whose labels are classes too) predicts the training split's most frequent label
 * for every row (the majority-class baseline); regression predicts the training labels' mean (the
 * constant-mean predictor). Both are fitted on the training split only, as a trained model would be.
 */
export interface LabelBaseline {
  task: string;
  kind: 'majority' | 'mean';
  /** Rows of each label in the training split (classification and ranking). */
  trainCounts?: number[];
  /** The label predicted for every row (majority) and the training labels' mean (mean). */
  majorityLabel?: number;
  trainMean?: number;
  trainRows: number;
  devRows: number;
  /**
   * The constant predictor's dev metrics on the engine's own metric code. A correlation of a constant
   * prediction is undefined (NaN, as scipy returns) and is reported as 0: it carries no linear or rank signal.
   */
  metrics: Partial<Record<MetricName, number>>;
}

/** Rows per label (labels 0…k−1; NaN labels of unlabelled rows are not counted). */
export function labelCounts(labels: ArrayLike<number>, numLabels: number): number[] {
  const counts = new Array<number>(numLabels).fill(0);
  for (let i = 0; i < labels.length; i++) {
    const y = labels[i];
    if (Number.isInteger(y) && y >= 0 && y < numLabels) counts[y]++;
  }
  return counts;
}

/** The task's baseline from its training split, scored on `dev` (null without labelled dev rows). */
export function labelBaseline(spec: TaskSpec, train: LoadedSplit, dev: LoadedSplit | undefined): LabelBaseline | null {
  const devLabels = dev ? Array.from(dev.labels).filter((y) => !Number.isNaN(y)) : [];
  if (devLabels.length === 0 || train.rows === 0) return null;
  const base = { task: spec.name, trainRows: train.rows, devRows: devLabels.length };
  if (spec.type === 'regression') {
    const trainMean = Array.from(train.labels).reduce((a, b) => a + b, 0) / train.rows;
    const preds = new Float32Array(devLabels.length).fill(trainMean);
    return { ...base, kind: 'mean', trainMean, metrics: scored(spec.metrics, preds, devLabels) };
  }
  // Ranking heads score one candidate at a time against a 0/1 label; count those two classes.
  const k = spec.type === 'classification' ? spec.numLabels : 2;
  const trainCounts = labelCounts(train.labels, k);
  // The first of equally frequent labels, so the choice does not depend on row order.
  const majorityLabel = trainCounts.indexOf(Math.max(...trainCounts));
  const preds = new Float32Array(devLabels.length).fill(majorityLabel);
  const metrics = scored(
    spec.metrics.filter((m) => m !== 'auc'),
    preds,
    devLabels,
  );
  return { ...base, kind: 'majority', trainCounts, majorityLabel, metrics };
}

function scored(metrics: readonly MetricName[], preds: Float32Array, labels: number[]): Partial<Record<MetricName, number>> {
  const out: Partial<Record<MetricName, number>> = {};
  for (const m of metrics) {
    const v = computeMetric(m, preds, labels);
    out[m] = Number.isNaN(v) ? 0 : v;
  }
  return out;
}
