import { describe, expect, it } from 'vitest';
import { FIXTURE_NAMES, loadFixture } from '../helpers/shared.ts';
import { maxAbsDiff } from '../helpers/compare.ts';
import { meanMatrix, minMax, normalizeGradts, normalizeMaskImportance } from '../../src/engine/analysis/importanceNormalize.ts';
import { headCorrelation, rankAuxiliaryTasks, taskCorrelationMatrix } from '../../src/engine/analysis/taskCorrelation.ts';
import { instanceToTaskCorrelation, selectInstances } from '../../src/engine/analysis/instanceCorrelation.ts';

// Pure float64 code on the reference's own matrices: it should agree with numpy to rounding.
const F64 = 1e-12;

describe('importance normalisation', () => {
  it('GradTS layer_normal: docs/methods.md §8 example [[1,3],[2,2]] → rows [[.25,.75],[.5,.5]] → min-max [[0,1],[.5,.5]]', () => {
    expect(
      normalizeGradts([
        [1, 3],
        [2, 2],
      ]),
    ).toEqual([
      [0, 1],
      [0.5, 0.5],
    ]);
  });

  it('mask measure: per-layer L2 then min-max, e.g. [[3,4],[1,0]] → [[.6,.8],[1,0]] → [[.6,.8],[1,0]]', () => {
    const n = normalizeMaskImportance([
      [3, 4],
      [1, 0],
    ]);
    expect(
      maxAbsDiff(n, [
        [0.6, 0.8],
        [1, 0],
      ]),
    ).toBeLessThan(F64);
  });

  it('a constant matrix min-maxes to zeros, and an all-zero GradTS layer stays zero instead of NaN', () => {
    expect(
      minMax([
        [2, 2],
        [2, 2],
      ]),
    ).toEqual([
      [0, 0],
      [0, 0],
    ]);
    expect(
      normalizeGradts([
        [0, 0],
        [1, 3],
      ]),
    ).toEqual([
      [0, 0],
      [0.25 / 0.75, 1],
    ]);
  });

  it('rejects ragged and non-finite matrices, naming the entry', () => {
    expect(() => normalizeGradts([[1, 2], [3]])).toThrow('normalizeGradts: layer 1 has 1 heads, layer 0 has 2');
    expect(() => normalizeMaskImportance([[1, Number.NaN]])).toThrow('normalizeMaskImportance: entry [0, 1] is NaN');
  });

  for (const name of FIXTURE_NAMES) {
    const fx = loadFixture(name);
    for (const task of ['classification', 'regression'] as const) {
      const t = fx.minibatch[task];
      it(`${name} ${task}: normalising the reference's raw matrices reproduces its normalised ones (1e-12)`, () => {
        expect(maxAbsDiff(normalizeMaskImportance(t.importance_raw), t.importance_normalized)).toBeLessThan(F64);
        expect(maxAbsDiff(normalizeGradts(meanMatrix(t.gradts_raw_per_example)), t.gradts_task_normalized)).toBeLessThan(F64);
        expect(maxAbsDiff(t.gradts_raw_per_example.map(normalizeGradts), t.gradts_instance_normalized)).toBeLessThan(F64);
      });
    }
  }
});

describe('head-matrix correlations', () => {
  for (const name of FIXTURE_NAMES) {
    const fx = loadFixture(name);
    const reg = fx.minibatch.regression,
      cls = fx.minibatch.classification,
      want = fx.minibatch.gradts_correlation;

    it(`${name}: GradTS task and instance τ-b from the reference matrices equal the fixture's (1e-9)`, () => {
      expect(want.main).toBe('regression');
      expect(headCorrelation(reg.gradts_task_normalized, cls.gradts_task_normalized)).toBeCloseTo(want.task_level_kendall_tau_b, 9);
      const inst = instanceToTaskCorrelation(reg.gradts_task_normalized, cls.gradts_instance_normalized);
      expect(inst).toHaveLength(fx.minibatch.example_ids.length);
      expect(maxAbsDiff(inst, want.instance_level_kendall_tau_b)).toBeLessThan(1e-9);
    });

    it(`${name}: the task × task matrix is symmetric with unit diagonal, and its reg–cls entry is the fixture's τ-b`, () => {
      const matrices = {
        regression: reg.gradts_task_normalized,
        classification: cls.gradts_task_normalized,
        'regression-mask': reg.importance_normalized,
        'classification-mask': cls.importance_normalized,
      };
      for (const method of ['kendall_tau_b', 'spearman'] as const) {
        const c = taskCorrelationMatrix(matrices, method);
        expect(c.tasks).toEqual(Object.keys(matrices));
        c.values.forEach((row, i) =>
          row.forEach((v, j) => {
            expect(v).toBe(c.values[j][i]);
            expect(v).toBeGreaterThanOrEqual(-1);
            expect(v).toBeLessThanOrEqual(1);
          }),
        );
        // Every matrix here has distinct entries, so each correlates perfectly with itself.
        c.values.forEach((row, i) => expect(row[i]).toBeCloseTo(1, 12));
        if (method === 'kendall_tau_b') expect(c.values[0][1]).toBeCloseTo(want.task_level_kendall_tau_b, 9);
      }
    });
  }

  it("Kendall τ-b and Spearman on head matrices match the fixture's metric vectors (ties included)", () => {
    const fx = loadFixture('random-tiny');
    expect(fx.metrics.regression.length).toBeGreaterThanOrEqual(5);
    for (const r of fx.metrics.regression) {
      // A [1, n] "matrix" flattens to the vector itself.
      expect(headCorrelation([r.pred], [r.label], 'kendall_tau_b'), r.name).toBeCloseTo(r.kendall_tau_b, 12);
      expect(headCorrelation([r.pred], [r.label], 'spearman'), r.name).toBeCloseTo(r.spearman, 12);
    }
  });

  it('flattens row-major: swapping a matrix for its transpose changes τ-b', () => {
    const a = [
      [0.1, 0.9],
      [0.5, 0.3],
    ];
    const aT = [
      [0.1, 0.5],
      [0.9, 0.3],
    ];
    const b = [
      [1, 4],
      [3, 2],
    ];
    // flat(a) = [.1,.9,.5,.3] vs [1,4,3,2]: fully concordant; flat(aT) = [.1,.5,.9,.3]: one discordant pair of six.
    expect(headCorrelation(a, b)).toBeCloseTo(1, 12);
    expect(headCorrelation(aT, b)).toBeCloseTo(4 / 6, 12);
  });

  it('rejects matrices of different shapes with both shapes in the message', () => {
    expect(() =>
      headCorrelation(
        [[1, 2, 3, 4]],
        [
          [1, 2],
          [3, 4],
        ],
      ),
    ).toThrow('headCorrelation: matrices have shapes [1, 4] and [2, 2]');
    expect(() =>
      taskCorrelationMatrix({
        a: [[1, 2]],
        b: [
          [1, 2],
          [3, 4],
        ],
      }),
    ).toThrow('taskCorrelationMatrix: a vs b: ');
    expect(() => instanceToTaskCorrelation([[1, 2]], [[[1, 2]], [[1]]])).toThrow('instanceToTaskCorrelation: auxiliary instance 1: ');
  });

  it('GradTS-trial order: the other tasks by correlation, highest first', () => {
    const c = {
      tasks: ['rte', 'mrpc', 'cola', 'sst'],
      method: 'kendall_tau_b' as const,
      values: [
        [1, 0.2, 0.7, -0.1],
        [0.2, 1, 0.3, 0.4],
        [0.7, 0.3, 1, 0.5],
        [-0.1, 0.4, 0.5, 1],
      ],
    };
    expect(rankAuxiliaryTasks(c, 'rte')).toEqual([
      { task: 'cola', correlation: 0.7 },
      { task: 'mrpc', correlation: 0.2 },
      { task: 'sst', correlation: -0.1 },
    ]);
    expect(() => rankAuxiliaryTasks(c, 'qqp')).toThrow("rankAuxiliaryTasks: main task 'qqp' is not one of rte, mrpc, cola, sst");
  });

  it('GradTS-fg keeps the auxiliary examples with τ ≥ θ (0.62 by default), never NaN', () => {
    // random-tiny's instance scores: 0.643, 0.429, 0.786, 0.429, 0.429, 0.571, 0, 0.714.
    const inst = loadFixture('random-tiny').minibatch.gradts_correlation.instance_level_kendall_tau_b;
    expect(selectInstances(inst)).toEqual([0, 2, 7]);
    expect(selectInstances(inst, 0.55)).toEqual([0, 2, 5, 7]);
    expect(selectInstances([Number.NaN, 0.62, 0.61])).toEqual([1]);
  });
});
