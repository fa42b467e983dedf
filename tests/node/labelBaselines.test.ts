import { describe, expect, it } from 'vitest';
import { labelBaseline, labelCounts } from '../../src/engine/analysis/labelBaselines.ts';
import { taskSpecFromRegistry } from '../../src/engine/model/taskSpec.ts';
import { memorySplit } from '../../src/engine/train/memorySplit.ts';

const split = (task: string, labels: number[]) =>
  memorySplit(
    task,
    'train',
    labels.map((label, i) => ({ ids: [2, 5 + i, 3], label })),
  );

describe('label baselines (majority class, constant mean)', () => {
  it('counts labels and skips NaN (unlabelled) rows', () => {
    expect(labelCounts([0, 2, 2, NaN, 1, 2], 3)).toEqual([1, 1, 3]);
  });

  it('MNLI: the training majority label scored on dev, in every metric of the task', () => {
    // Train: 3× label 1, 2× label 0, 1× label 2 → predict 1. Dev: 2 of 5 rows are label 1 → accuracy 0.4.
    const b = labelBaseline(taskSpecFromRegistry('MNLI'), split('MNLI', [1, 0, 1, 2, 0, 1]), split('MNLI', [0, 1, 2, 1, 0]))!;
    expect(b).toEqual({ task: 'MNLI', kind: 'majority', trainCounts: [2, 3, 1], majorityLabel: 1, trainRows: 6, devRows: 5, metrics: { acc: 0.4 } });
  });

  it('CoLA: a constant prediction has MCC 0 (accuracy is that label’s dev share); ties go to the first label', () => {
    const b = labelBaseline(taskSpecFromRegistry('CoLA'), split('CoLA', [1, 0, 1, 0]), split('CoLA', [1, 1, 1, 0]))!;
    expect(b.majorityLabel).toBe(0);
    expect(b.metrics).toEqual({ acc: 0.25, mcc: 0 });
  });

  it('MRPC: F1 of always predicting the positive class is 2p/(1+p) for a positive share p', () => {
    const b = labelBaseline(taskSpecFromRegistry('MRPC'), split('MRPC', [1, 1, 0]), split('MRPC', [1, 0, 0, 1, 1]))!;
    expect(b.metrics.acc).toBeCloseTo(0.6, 12);
    expect(b.metrics.f1).toBeCloseTo((2 * 0.6) / 1.6, 12);
  });

  it('STS-B: the training mean as the constant prediction; its correlations are undefined and reported as 0', () => {
    const b = labelBaseline(taskSpecFromRegistry('STS-B'), split('STS-B', [1, 2, 4.5]), split('STS-B', [0, 5, 3]))!;
    expect(b.kind).toBe('mean');
    expect(b.trainMean).toBeCloseTo(2.5, 6);
    expect(b.metrics).toEqual({ pearson: 0, spearman: 0 });
  });

  it('no labelled dev rows: no baseline', () => {
    expect(labelBaseline(taskSpecFromRegistry('MNLI'), split('MNLI', [1]), split('MNLI', [NaN, NaN]))).toBeNull();
    expect(labelBaseline(taskSpecFromRegistry('MNLI'), split('MNLI', [1]), undefined)).toBeNull();
  });
});
