import { describe, expect, it } from 'vitest';
import { bestF1Threshold, thresholdPredictions } from '../../src/engine/metrics/f1Threshold.ts';
import { f1Binary } from '../../src/engine/metrics/index.ts';

describe('bestF1Threshold', () => {
  it('finds the cut with the highest F1 and puts the threshold between the two scores around it', () => {
    const p = [0.9, 0.8, 0.7, 0.6, 0.4, 0.3, 0.2, 0.1];
    const y = [1, 1, 0, 1, 1, 0, 0, 0];
    // Cuts by hand (4 positives): k=1 2/5, k=2 4/6, k=3 4/7, k=4 6/8, k=5 8/9, k=6 8/10, k=7 8/11, k=8 8/12.
    const r = bestF1Threshold(p, y);
    expect(r.threshold).toBeCloseTo(0.35, 12);
    expect(r.f1).toBeCloseTo(8 / 9, 12);
    // The threshold applied to the same rows gives the F1 it reports; argmax (0.5) gives less.
    expect(f1Binary(thresholdPredictions(p, r.threshold), y)).toBeCloseTo(8 / 9, 12);
    expect(f1Binary(thresholdPredictions(p, 0.5), y)).toBeCloseTo(6 / 8, 12);
  });

  it('keeps the higher threshold of a tie, so "all positive" wins only when it is strictly best', () => {
    // k=1 gives 2/3 at threshold 0.7; all positive (k=4) also gives 4/6.
    expect(bestF1Threshold([0.8, 0.6, 0.4, 0.2], [1, 0, 0, 1])).toEqual({ threshold: 0.7, f1: 2 / 3 });
    // Here all positive is strictly best: threshold 0.
    expect(bestF1Threshold([0.9, 0.5, 0.1], [1, 0, 1])).toEqual({ threshold: 0, f1: 0.8 });
  });

  it('never splits rows with equal scores', () => {
    // Taking only one of the two 0.5 rows (F1 1) is not a threshold; the best real cut takes both.
    expect(bestF1Threshold([0.5, 0.5, 0.2], [1, 0, 0])).toEqual({ threshold: 0.35, f1: 2 / 3 });
  });

  it('rejects rows it cannot score, naming the row', () => {
    expect(() => bestF1Threshold([0.5, 0.4], [0, 0])).toThrow('bestF1Threshold: the rows have no positive label, so every threshold gives F1 0');
    expect(() => bestF1Threshold([0.5, 0.4], [1, 2])).toThrow('bestF1Threshold is binary (labels 0/1); labels[1] is 2');
    expect(() => bestF1Threshold([0.5, Number.NaN], [1, 0])).toThrow('bestF1Threshold: preds[1] is NaN, not a finite number');
    expect(() => bestF1Threshold([0.5], [1, 0])).toThrow('bestF1Threshold: preds has 1 values but labels has 2');
  });
});
