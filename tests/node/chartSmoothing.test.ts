import { describe, expect, it } from 'vitest';
import { logTicks, smoothSeries } from '../../src/ui/charts/smoothing.ts';

describe('loss chart helpers', () => {
  it('debiased EMA: the first point is kept, later ones follow s_t = w·s_{t−1} + (1−w)·x_t ÷ (1 − w^t)', () => {
    expect(smoothSeries([1, 2, 3], 0)).toEqual([1, 2, 3]);
    const s = smoothSeries([1, 3], 0.5);
    expect(s[0]).toBe(1); // 0.5 / (1 − 0.5)
    // s_2 = 0.5·0.5 + 0.5·3 = 1.75, ÷ (1 − 0.25) = 2.3333…
    expect(s[1]).toBeCloseTo(1.75 / 0.75, 12);
    expect(() => smoothSeries([1], 1)).toThrow('smoothing weight must be in [0, 1), got 1');
  });

  it('a log axis over less than a decade gets labelled round ticks; a wider one is left to Plot', () => {
    // (0.71 − 0.62)/5 = 0.018 → a step of 0.02 from 0.62.
    expect(logTicks(0.62, 0.71)).toEqual([0.62, 0.64, 0.66, 0.68, 0.7]);
    expect(logTicks(0.1, 5)).toEqual([]);
    expect(logTicks(0.696047, 0.696047)).toEqual([0.696]);
  });
});

describe('overview dev curves', async () => {
  const { referenceLines, devCurves } = await import('../../src/ui/views/overviewData.ts');
  it('picks MCC for CoLA, accuracy otherwise, and draws chance at 1/k or 0', () => {
    const history = [
      { step: 32, task: 'CoLA', metric: 'acc', value: 0.7 },
      { step: 32, task: 'CoLA', metric: 'mcc', value: 0.1 },
      { step: 32, task: 'MNLI', metric: 'acc', value: 0.5 },
      { step: 32, task: 'STS-B', metric: 'pearson', value: 0.3 },
      { step: 32, task: 'STS-B', metric: 'spearman', value: 0.31 },
      { step: 16, task: 'SYN-MATCH', metric: 'acc', value: 0.6 },
      { step: 16, task: 'SYN-MATCH', metric: 'f1', value: 0.5 },
    ];
    const curves = devCurves(history);
    expect(curves.map((p) => `${p.step} ${p.task} ${p.metric}`)).toEqual(['16 SYN-MATCH acc', '32 CoLA mcc', '32 MNLI acc', '32 STS-B pearson']);
    expect(referenceLines(curves)).toEqual([
      { task: 'SYN-MATCH', kind: 'chance', value: 0.5, label: 'chance 1/2' },
      { task: 'CoLA', kind: 'chance', value: 0, label: 'chance 0' },
      { task: 'MNLI', kind: 'chance', value: 1 / 3, label: 'chance 1/3' },
      { task: 'STS-B', kind: 'chance', value: 0, label: 'chance 0' },
    ]);
    // With the run's baselines: the majority class in the curve's metric, the constant mean for regression.
    const baselines = [
      { task: 'MNLI', kind: 'majority' as const, trainCounts: [5, 3, 2], majorityLabel: 0, trainRows: 10, devRows: 4, metrics: { acc: 0.25 } },
      { task: 'STS-B', kind: 'mean' as const, trainMean: 2.5, trainRows: 10, devRows: 4, metrics: { pearson: 0, spearman: 0 } },
    ];
    expect(referenceLines(curves, baselines).filter((l) => l.kind !== 'chance')).toEqual([
      { task: 'MNLI', kind: 'majority', value: 0.25, label: 'majority class (label 0): acc 0.2500' },
      { task: 'STS-B', kind: 'mean', value: 0, label: 'constant mean 2.500: pearson 0.0000' },
    ]);
  });
});
