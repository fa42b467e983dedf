import { describe, expect, it } from 'vitest';
import { FIXTURE_NAMES, loadFixture } from '../helpers/shared.ts';
import { accuracy, computeMetric, f1Binary, kendallTauB, matthewsCorrcoef, pearson, rankdata, rocAuc, spearman } from '../../src/engine/metrics/index.ts';
import { Rng } from '../../src/engine/runtime/rng.ts';

/** Fixture values are float64 from refbert; null stands for NaN (JSON has none). */
function expectClose(got: number, want: number | null, tol = 1e-12): void {
  if (want === null) expect(got).toBeNaN();
  else expect(Math.abs(got - want)).toBeLessThanOrEqual(tol);
}

const flat = (m: number[][]) => m.flat();

describe.each(FIXTURE_NAMES)('metrics against the %s fixture (refbert float64)', (name) => {
  const fx = loadFixture(name);

  it('every classification case: accuracy, MCC, binary F1', () => {
    const cases = fx.metrics.classification as { name: string; pred: number[]; label: number[]; accuracy: number; mcc: number; f1?: number }[];
    expect(cases.map((c) => c.name)).toEqual(['basic', 'all_positive_pred', 'all_negative_pred', 'perfect', 'inverted', 'multiclass']);
    for (const c of cases) {
      expectClose(accuracy(c.pred, c.label), c.accuracy);
      expectClose(computeMetric('acc', c.pred, c.label), c.accuracy);
      expectClose(matthewsCorrcoef(c.pred, c.label), c.mcc);
      expectClose(computeMetric('mcc', c.pred, c.label), c.mcc);
      if ('f1' in c) {
        expectClose(f1Binary(c.pred, c.label), c.f1!);
        expectClose(computeMetric('f1', c.pred, c.label), c.f1!);
      } else {
        // Only the multiclass case has no F1: binary F1 refuses it as sklearn's average='binary' does.
        expect(c.name).toBe('multiclass');
        expect(() => computeMetric('f1', c.pred, c.label)).toThrow('f1 is binary (labels 0/1, positive label 1); preds[2] is 2');
      }
    }
    // A constant prediction has MCC 0 (sklearn), not NaN.
    const constant = cases.find((c) => c.name === 'all_positive_pred')!;
    expect(matthewsCorrcoef(constant.pred, constant.label)).toBe(0);
  });

  it('every regression case: Pearson, Spearman, Kendall τ-b', () => {
    const cases = fx.metrics.regression as {
      name: string;
      pred: number[];
      label: number[];
      pearson: number | null;
      spearman: number | null;
      kendall_tau_b: number | null;
    }[];
    expect(cases.map((c) => c.name)).toEqual(['no_ties', 'ties', 'negative', 'nonlinear_monotone', 'stsb_like']);
    for (const c of cases) {
      expectClose(pearson(c.pred, c.label), c.pearson);
      expectClose(computeMetric('pearson', c.pred, c.label), c.pearson);
      expectClose(spearman(c.pred, c.label), c.spearman);
      expectClose(computeMetric('spearman', c.pred, c.label), c.spearman);
      expectClose(kendallTauB(c.pred, c.label), c.kendall_tau_b);
    }
  });

  it('the minibatch metrics_on_pred (model predictions) and GradTS Kendall τ-b correlations', () => {
    const cls = fx.minibatch.classification;
    expectClose(accuracy(cls.pred, cls.labels), cls.metrics_on_pred.accuracy);
    expectClose(matthewsCorrcoef(cls.pred, cls.labels), cls.metrics_on_pred.mcc);
    const oneVsRest = (v: number[]) => v.map((x) => (x === 1 ? 1 : 0));
    expectClose(f1Binary(oneVsRest(cls.pred), oneVsRest(cls.labels)), cls.metrics_on_pred.f1_class1_vs_rest);
    const reg = fx.minibatch.regression;
    expectClose(pearson(reg.pred, reg.labels), reg.metrics_on_pred.pearson);
    expectClose(spearman(reg.pred, reg.labels), reg.metrics_on_pred.spearman);
    expectClose(kendallTauB(reg.pred, reg.labels), reg.metrics_on_pred.kendall_tau_b);
    // Main task = regression, auxiliary = classification; min-max normalised matrices tie at 0 and 1.
    const corr = fx.minibatch.gradts_correlation;
    const main = flat(reg.gradts_task_normalized);
    expectClose(kendallTauB(main, flat(cls.gradts_task_normalized)), corr.task_level_kendall_tau_b);
    (cls.gradts_instance_normalized as number[][][]).forEach((inst, i) => {
      expectClose(kendallTauB(main, flat(inst)), corr.instance_level_kendall_tau_b[i]);
    });
  });
});

describe('metric edge cases and helpers', () => {
  it('rankdata gives average ranks to ties (scipy), and FastMTL ranks scores [0.9, 0.1, 0.5] as rankdata(−s) = [1, 3, 2]', () => {
    // Values from scipy.stats.rankdata.
    expect(Array.from(rankdata([0, 2, 3, 2]))).toEqual([1, 2.5, 4, 2.5]);
    expect(Array.from(rankdata([0.9, 0.1, 0.5].map((s) => -s)))).toEqual([1, 3, 2]);
    expect(Array.from(rankdata([7, 7, 7]))).toEqual([2, 2, 2]);
    expect(Array.from(rankdata([]))).toEqual([]);
    expect(() => rankdata([1, Number.NaN])).toThrow('rankdata: value 1 is NaN');
  });

  it('matches scipy on a vector pair with ties in both inputs', () => {
    // scipy 1.17: kendalltau 0.7999999999999999, spearmanr 0.9088050314465409, pearsonr 0.8607533668498878.
    const x = [1, 2, 2, 3, 3, 3, 4, 5, 5, 6];
    const y = [2, 1, 2, 3, 3, 4, 4, 4, 6, 5];
    expectClose(kendallTauB(x, y), 0.7999999999999999);
    expectClose(spearman(x, y), 0.9088050314465409);
    expectClose(pearson(x, y), 0.8607533668498878);
  });

  it('Kendall τ-b (O(n log n)) equals a direct pair count on random data with many ties', () => {
    const naive = (x: number[], y: number[]) => {
      let con = 0;
      let dis = 0;
      let tx = 0;
      let ty = 0;
      for (let i = 0; i < x.length; i++) {
        for (let j = i + 1; j < x.length; j++) {
          const sx = Math.sign(x[i] - x[j]);
          const sy = Math.sign(y[i] - y[j]);
          if (sx === 0) tx++;
          if (sy === 0) ty++;
          if (sx !== 0 && sy !== 0) {
            if (sx === sy) con++;
            else dis++;
          }
        }
      }
      const n0 = (x.length * (x.length - 1)) / 2;
      return (con - dis) / Math.sqrt((n0 - tx) * (n0 - ty));
    };
    const rng = new Rng(31);
    for (let trial = 0; trial < 20; trial++) {
      const n = 2 + rng.int(300);
      const x = Array.from({ length: n }, () => rng.int(12));
      const y = x.map((v) => (rng.bernoulli(0.7) ? v + rng.int(4) : rng.int(15)));
      expectClose(kendallTauB(x, y), naive(x, y));
    }
  });

  it('degenerate inputs: constant vectors give NaN correlations (scipy), MCC 0 (sklearn)', () => {
    expect(pearson([1, 1, 1], [1, 2, 3])).toBeNaN();
    expect(spearman([1, 2, 3], [4, 4, 4])).toBeNaN();
    expect(kendallTauB([2, 2, 2], [1, 2, 3])).toBeNaN();
    expect(matthewsCorrcoef([1, 1, 1], [1, 1, 1])).toBe(0);
    expect(f1Binary([0, 0], [0, 0])).toBe(0);
  });

  it('ROC-AUC counts tied scores as half (sklearn roc_auc_score)', () => {
    // sklearn's documented example.
    expectClose(rocAuc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]), 0.75);
    // scipy mannwhitneyu U / (n₁·n₀) = 0.8333333333333334.
    expectClose(computeMetric('auc', [0.2, 0.6, 0.6, 0.6, 0.9], [0, 1, 1, 0, 1]), 0.8333333333333334);
    expect(rocAuc([0.5, 0.5, 0.5, 0.5], [0, 1, 0, 1])).toBe(0.5);
    expect(rocAuc([0.9, 0.1], [1, 0])).toBe(1);
    // One class only: sklearn raises; here NaN so one degenerate split does not abort a run.
    expect(rocAuc([0.3, 0.7], [1, 1])).toBeNaN();
    expect(() => rocAuc([0.3, 0.7], [1, 2])).toThrow('auc is binary (labels 0/1, positive label 1); labels[1] is 2');
  });

  it('bad input gets a clear error', () => {
    expect(() => computeMetric('acc', [1, 0, 1], [1, 0])).toThrow('accuracy: preds has 3 values but labels has 2');
    expect(() => computeMetric('pearson', [], [])).toThrow('pearson: no values (preds and labels are empty)');
    expect(() => computeMetric('spearman', [1, Number.NaN], [1, 2])).toThrow('spearman: preds[1] is NaN, not a finite number');
    expect(() => computeMetric('r2' as never, [1], [1])).toThrow("unknown metric 'r2' (expected one of acc, f1, mcc, pearson, spearman, auc)");
  });

  it('accepts typed arrays', () => {
    expect(computeMetric('acc', new Int32Array([1, 0, 1, 1]), new Float32Array([1, 0, 0, 1]))).toBe(0.75);
  });
});
