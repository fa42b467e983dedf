import { accuracy, f1Binary, matthewsCorrcoef, rocAuc } from './classification.ts';
import { kendallTauB, pearson, spearman } from './correlation.ts';

export { accuracy, f1Binary, matthewsCorrcoef, rocAuc, pearson, spearman, kendallTauB };
export { rankdata } from './rank.ts';

/** The GLUE metrics by MT-DNN's names. All values are on the 0–1 scale (the UI shows ×100). */
export type MetricName = 'acc' | 'f1' | 'mcc' | 'pearson' | 'spearman' | 'auc';
export const METRIC_NAMES: readonly MetricName[] = ['acc', 'f1', 'mcc', 'pearson', 'spearman', 'auc'];

const METRICS: Record<MetricName, (preds: ArrayLike<number>, labels: ArrayLike<number>) => number> = {
  acc: accuracy,
  f1: f1Binary,
  mcc: matthewsCorrcoef,
  pearson,
  spearman,
  auc: rocAuc,
};

/**
 * acc/f1/mcc take argmax class predictions; pearson/spearman take the regression scores; auc takes the
 * positive-class probability (docs/methods.md §1.10).
 */
export function computeMetric(name: MetricName, preds: ArrayLike<number>, labels: ArrayLike<number>): number {
  const f = METRICS[name];
  if (!f) throw new Error(`unknown metric '${name as string}' (expected one of ${METRIC_NAMES.join(', ')})`);
  return f(preds, labels);
}
