import { checkPair } from './checkInputs.ts';
import { rankdata } from './rank.ts';

/** Fraction of exact matches (sklearn accuracy_score). */
export function accuracy(preds: ArrayLike<number>, labels: ArrayLike<number>): number {
  checkPair('accuracy', preds, labels);
  let hit = 0;
  for (let i = 0; i < preds.length; i++) if (preds[i] === labels[i]) hit++;
  return hit / preds.length;
}

function checkBinary(metric: string, name: string, values: ArrayLike<number>): void {
  for (let i = 0; i < values.length; i++) {
    if (values[i] !== 0 && values[i] !== 1) {
      throw new Error(`${metric} is binary (labels 0/1, positive label 1); ${name}[${i}] is ${values[i]}`);
    }
  }
}

/** Binary F1 with positive label 1; 0 when there are no positives at all (sklearn's zero_division=0). */
export function f1Binary(preds: ArrayLike<number>, labels: ArrayLike<number>): number {
  checkPair('f1', preds, labels);
  checkBinary('f1', 'preds', preds);
  checkBinary('f1', 'labels', labels);
  let tp = 0;
  let fp = 0;
  let fn = 0;
  for (let i = 0; i < preds.length; i++) {
    if (preds[i] === 1 && labels[i] === 1) tp++;
    else if (preds[i] === 1) fp++;
    else if (labels[i] === 1) fn++;
  }
  const den = 2 * tp + fp + fn;
  return den === 0 ? 0 : (2 * tp) / den;
}

/**
 * Matthews correlation, multiclass (Gorodkin) as sklearn matthews_corrcoef; 0 when undefined (for example a
 * constant prediction), as sklearn returns.
 */
export function matthewsCorrcoef(preds: ArrayLike<number>, labels: ArrayLike<number>): number {
  checkPair('mcc', preds, labels);
  const n = preds.length;
  const predCount = new Map<number, number>();
  const trueCount = new Map<number, number>();
  let correct = 0;
  for (let i = 0; i < n; i++) {
    predCount.set(preds[i], (predCount.get(preds[i]) ?? 0) + 1);
    trueCount.set(labels[i], (trueCount.get(labels[i]) ?? 0) + 1);
    if (preds[i] === labels[i]) correct++;
  }
  let tDotP = 0;
  for (const [c, t] of trueCount) tDotP += t * (predCount.get(c) ?? 0);
  let pDotP = 0;
  for (const p of predCount.values()) pDotP += p * p;
  let tDotT = 0;
  for (const t of trueCount.values()) tDotT += t * t;
  const covYtYp = correct * n - tDotP;
  const covYpYp = n * n - pDotP;
  const covYtYt = n * n - tDotT;
  const den = covYtYt * covYpYp;
  return den === 0 ? 0 : covYtYp / Math.sqrt(den);
}

/**
 * ROC-AUC of scores for binary labels (sklearn roc_auc_score): the Mann–Whitney statistic with tied scores
 * counted as half, which equals the trapezoidal area under sklearn's ROC curve. sklearn raises when only one
 * class is present; this returns NaN instead so one degenerate dev split does not abort a run.
 */
export function rocAuc(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  checkPair('auc', scores, labels);
  checkBinary('auc', 'labels', labels);
  const ranks = rankdata(scores);
  let nPos = 0;
  let rankSumPos = 0;
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] === 1) {
      nPos++;
      rankSumPos += ranks[i];
    }
  }
  const nNeg = labels.length - nPos;
  if (nPos === 0 || nNeg === 0) return Number.NaN;
  return (rankSumPos - (nPos * (nPos + 1)) / 2) / (nPos * nNeg);
}
