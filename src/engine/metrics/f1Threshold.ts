import { checkPair } from './checkInputs.ts';

export interface F1Threshold {
  /** Predict the positive class when its probability is ≥ this. */
  threshold: number;
  /** The F1 that threshold reaches on the rows it was chosen on. */
  f1: number;
}

/**
 * The decision threshold on the positive-class probability that maximises binary F1 on the given rows.
 *
 * argmax (threshold 0.5) maximises accuracy, not F1: for a calibrated classifier the F1-optimal threshold is
 * half the best reachable F1 (Lipton, Elkan & Narayanaswamy 2014), so below 0.5 on tasks such as MRPC. Every
 * distinct cut between sorted scores is tried; the threshold returned is the midpoint between the lowest
 * score predicted positive and the highest one predicted negative, so it does not sit on a training row's
 * score. Ties in F1 go to the higher threshold (fewer positives: the smaller change from argmax). Rows with the
 * same score are never split. "All positive" (threshold 0) is one of the candidates.
 */
export function bestF1Threshold(positiveProbs: ArrayLike<number>, labels: ArrayLike<number>): F1Threshold {
  checkPair('bestF1Threshold', positiveProbs, labels);
  const n = positiveProbs.length;
  let positives = 0;
  for (let i = 0; i < n; i++) {
    if (labels[i] !== 0 && labels[i] !== 1) throw new Error(`bestF1Threshold is binary (labels 0/1); labels[${i}] is ${labels[i]}`);
    positives += labels[i];
  }
  if (positives === 0) throw new Error('bestF1Threshold: the rows have no positive label, so every threshold gives F1 0');
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => positiveProbs[b] - positiveProbs[a]);
  // Walk down the scores: after taking the first k rows as positive, tp of them are labelled positive. The last
  // cut (k = n) is "all positive", threshold 0; a strict > keeps the first (highest) threshold of a tie.
  let best: F1Threshold | null = null;
  let tp = 0;
  for (let k = 1; k <= n; k++) {
    tp += labels[order[k - 1]];
    const score = positiveProbs[order[k - 1]];
    const next = k < n ? positiveProbs[order[k]] : -Infinity;
    if (next === score) continue;
    const f1 = (2 * tp) / (k + positives);
    if (best === null || f1 > best.f1) best = { threshold: k < n ? (score + next) / 2 : 0, f1 };
  }
  return best!;
}

/** Class ids from positive-class probabilities and a threshold. */
export function thresholdPredictions(positiveProbs: ArrayLike<number>, threshold: number): Float32Array {
  return Float32Array.from(positiveProbs, (p) => (p >= threshold ? 1 : 0));
}
