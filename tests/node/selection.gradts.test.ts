import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { useBackend } from '../helpers/nodeBackends.ts';
import { TINY_VOCAB, toyRows } from '../helpers/tinyTraining.ts';
import { headCorrelation } from '../../src/engine/analysis/taskCorrelation.ts';
import type { ExperimentInput } from '../../src/engine/experiment/experimentSchema.ts';
import { memorySplit } from '../../src/engine/train/memorySplit.ts';
import { buildEncoder } from '../../src/engine/model/modelFactory.ts';
import type { TaskSplits } from '../../src/engine/train/trainer.ts';
import { fineGrainedSelection, type GradtsFgReasons } from '../../src/engine/selection/gradtsFineGrained.ts';
import { gradtsTaskImportance } from '../../src/engine/selection/gradtsMatrices.ts';
import type { GradtsTrialReasons } from '../../src/engine/selection/gradtsTrial.ts';
import { parseSelectionConfig, stageExperiment } from '../../src/engine/selection/selectionConfig.ts';
import { runSelection, type ImportanceProvenance } from '../../src/engine/selection/runSelection.ts';
import type { SelectionEnv } from '../../src/engine/selection/trainRunner.ts';

beforeAll(async () => {
  await useBackend('cpu');
});

const TASKS = ['RTE', 'MRPC', 'SST-2', 'CoLA'] as const;
const ROWS = 16;

function data(): Record<string, TaskSplits> {
  const out: Record<string, TaskSplits> = {};
  TASKS.forEach((t, i) => {
    out[t] = {
      train: memorySplit(
        t,
        'train',
        toyRows('pair', ROWS, 10 + i).map((r) => ({ ...r, uid: `${t}-${r.uid}` })),
      ),
      dev: memorySplit(t, 'dev', toyRows('pair', 8, 100 + i)),
    };
  });
  return out;
}

const env = (): SelectionEnv => ({ data: data(), makeEncoder: (exp) => buildEncoder(exp, { vocabSize: TINY_VOCAB }) });

const BASE: ExperimentInput = {
  tasks: TASKS.map((name) => ({ name })),
  model: { kind: 'random', layers: 2, hidden: 16, heads: 2, intermediate: 32, vocab: 'synthetic' },
  data: { kind: 'synthetic' },
  evalBatchSize: 16,
};
// Small budget for every stage: 2 epochs (tuning 1), batch 8, no gradient accumulation.
const STAGES = { all: { epochs: 2, batchSize: 8, gradAccumulation: 1, optimizer: { kind: 'adamax', lr: 2e-3 } }, tune: { epochs: 1 } };

// Hand-made task matrices: MRPC = RTE's (τ = 1), SST-2 reversed (τ = −1), CoLA in between.
const M = [
  [0, 0.2],
  [0.7, 1],
];
const IMPORTANCE = {
  RTE: M,
  MRPC: M,
  'SST-2': [
    [1, 0.7],
    [0.2, 0],
  ],
  CoLA: [
    [0.2, 0],
    [1, 0.7],
  ],
};

describe('stage experiments', () => {
  it("take the preset's recipe over the user's, then stages.all, then the stage's own; maxLength stays the user's", () => {
    const base = { ...BASE, maxLength: 64, epochs: 9 };
    const trial = stageExperiment(base, parseSelectionConfig({}), 'trial');
    expect(trial).toMatchObject({ batchSize: 4, gradAccumulation: 4, epochs: 7, seed: 2018, maxLength: 64, optimizer: { kind: 'adamax', lr: 5e-5 } });
    const td = stageExperiment(base, parseSelectionConfig({ tdSeed: 207, stages: { all: { epochs: 1 }, td: { batchSize: 2 } } }), 'td');
    expect(td).toMatchObject({ epochs: 1, batchSize: 2, seed: 207, maxLength: 64, optimizer: { kind: 'adamw', lr: 2e-5, weightDecay: 0 } });
    expect(stageExperiment(base, parseSelectionConfig({}), 'train')).toMatchObject({ epochs: 3, seed: 84, batchSize: 32 });
    expect(stageExperiment(base, parseSelectionConfig({}), 'tune')).toMatchObject({ epochs: 3, batchSize: 4, seed: 2018 });
    expect(() => stageExperiment(base, parseSelectionConfig({ stages: { trial: { epochs: -1 } } }), 'trial')).toThrow(
      "selection stage 'trial': invalid experiment config",
    );
  });
});

describe('GradTS-trial through the trainer (tiny model)', () => {
  it("orders by the given matrices' τ, trains each trial for its epochs and applies the rule to what the trials reported", async () => {
    const sel = parseSelectionConfig({ method: 'gradts-trial', target: 'RTE', importance: IMPORTANCE, stages: STAGES });
    const before = tf.memory().numTensors;
    const r = await runSelection({ base: BASE, selection: sel, env: env() });
    expect(tf.memory().numTensors).toBe(before);
    const why = r.reasons as GradtsTrialReasons & { importance: ImportanceProvenance };
    expect(why.importance.source).toBe('given');
    expect(why.correlations.map((c) => c.task)).toEqual(['MRPC', 'CoLA', 'SST-2']);
    expect(why.correlations[0].correlation).toBeCloseTo(1, 12);
    expect(why.correlations[2].correlation).toBeCloseTo(-1, 12);
    expect(why.correlations[1].correlation).toBeCloseTo(headCorrelation(M, IMPORTANCE.CoLA), 12);
    expect(why.trials[0].tasks).toEqual(['RTE', 'MRPC']);
    let examples = 0;
    why.trials.forEach((t, i) => {
      expect(t.tasks).toEqual(['RTE', ...why.correlations.slice(0, i + 1).map((c) => c.task)]);
      examples += t.tasks.length * ROWS * 2; // every row, 2 epochs
      expect(t.examplesProcessed).toBe(t.tasks.length * ROWS * 2);
      const reference = i === 0 ? -10000 : why.trials[i - 1].last.acc!; // RTE has one metric, acc
      expect(t.compared).toEqual({ metric: 'acc', value: t.best.acc, reference, referenceFrom: i === 0 ? 'start' : 'last' });
      expect(t.continue).toBe(t.best.acc! >= reference);
    });
    expect(r.examplesProcessed).toBe(examples);
    const last = why.trials[why.trials.length - 1];
    expect(last.continue === false || why.trials.length === 3).toBe(true);
    const bestScore = Math.max(...why.trials.map((t) => t.score));
    const picked = why.trials.filter((t) => t.score === bestScore).pop()!;
    expect(r.chosen).toEqual(picked.tasks.slice(1));
    expect(r.model).toEqual({ layers: 2, heads: 2, hidden: 16 });
  });

  it('computes the matrices itself when none are given (single-task tuning, then GradTS on the first rows)', async () => {
    const sel = parseSelectionConfig({ method: 'gradts-trial', target: 'RTE', maxMeasureRows: 6, maxTrials: 1, stages: STAGES });
    const r = await runSelection({ base: BASE, selection: sel, env: env() });
    const prov = (r.reasons as { importance: ImportanceProvenance }).importance;
    expect(prov.source).toBe('computed');
    expect(Object.keys(prov.matrices)).toEqual([...TASKS]);
    for (const m of Object.values(prov.matrices)) {
      expect(m.length).toBe(2);
      expect(m[0].length).toBe(2);
      expect(Math.min(...m.flat())).toBe(0);
      expect(Math.max(...m.flat())).toBe(1);
    }
    // tuning: 16 rows × 1 epoch, measuring: 6 rows, per task; then one trial of 2 tasks × 16 rows × 2 epochs.
    expect(r.examplesProcessed).toBe(4 * (16 + 6) + 2 * 16 * 2);
    expect((r.reasons as GradtsTrialReasons).trials).toHaveLength(1);
  });
});

describe('GradTS-fg', () => {
  it("keeps exactly the auxiliary rows with τ ≥ θ against the target's task matrix (pure)", () => {
    const inst = {
      rows: [0, 1, 2],
      uids: ['a', 'b', 'c'],
      matrices: [
        M,
        [
          [1, 0.7],
          [0.2, 0],
        ],
        [
          [0, 1],
          [0.2, 0.7],
        ],
      ],
    };
    const out = fineGrainedSelection(M, { MRPC: inst }, 0.62);
    expect(out.MRPC.correlations[0]).toBeCloseTo(1, 12);
    expect(out.MRPC.correlations[1]).toBeCloseTo(-1, 12);
    expect(out.MRPC.correlations[2]).toBeCloseTo(headCorrelation(M, inst.matrices[2]), 12);
    expect(out.MRPC.uids).toEqual(['a']);
    expect(out.MRPC.total).toBe(3);
    expect(fineGrainedSelection(M, { MRPC: inst }, -1).MRPC.rows).toEqual([0, 1, 2]);
  });

  it("measures instance matrices of the trial's tasks, keeps rows at θ and trains target + subsets", async () => {
    const sel = parseSelectionConfig({
      method: 'gradts-fg',
      target: 'RTE',
      trialSelection: ['MRPC', 'SST-2'],
      threshold: 0,
      importance: IMPORTANCE,
      maxMeasureRows: 10,
      stages: STAGES,
    });
    const r = await runSelection({ base: BASE, selection: sel, env: env() });
    const why = r.reasons as GradtsFgReasons;
    expect(why.trialSelection).toEqual(['MRPC', 'SST-2']);
    let kept = 0;
    for (const t of ['MRPC', 'SST-2']) {
      const p = why.perTask[t];
      expect(p.total).toBe(10);
      expect(p.correlations).toHaveLength(10);
      const expectedUids = p.measuredUids.filter((_, i) => p.correlations[i] >= 0);
      expect(p.uids).toEqual(expectedUids);
      expect(r.examples![t]).toEqual(expectedUids);
      kept += expectedUids.length;
      expect(expectedUids.length).toBeGreaterThan(0);
      expect(r.training!.rows[t]).toBe(expectedUids.length);
    }
    expect(r.training!.rows.RTE).toBe(ROWS);
    expect(r.training!.examplesProcessed).toBe((ROWS + kept) * 2);
    // No trial ran, so the cost is the two auxiliary tasks' tuning (16 rows) + measuring (10 rows); the target's matrix was given.
    expect(r.examplesProcessed).toBe(2 * (16 + 10));
  });

  it('skips training when no row reaches θ, and says why', async () => {
    const sel = parseSelectionConfig({
      method: 'gradts-fg',
      target: 'RTE',
      trialSelection: ['MRPC'],
      threshold: 1.5,
      importance: IMPORTANCE,
      maxMeasureRows: 4,
      stages: STAGES,
    });
    const r = await runSelection({ base: BASE, selection: sel, env: env() });
    expect(r.chosen).toEqual([]);
    expect(r.training).toBeUndefined();
    expect((r.reasons as GradtsFgReasons).skipped).toBe('no auxiliary example reaches τ ≥ 1.5');
  });

  it('rejects a trial selection outside the candidates', async () => {
    const sel = parseSelectionConfig({ method: 'gradts-fg', target: 'RTE', trialSelection: ['QQP'], importance: IMPORTANCE });
    await expect(runSelection({ base: BASE, selection: sel, env: env() })).rejects.toThrow(
      'selection.trialSelection: QQP is not among the candidates (MRPC, SST-2, CoLA)',
    );
  });
});

describe('GradTS head matrices of one task', () => {
  it('are deterministic for a seed and come from the tuned model (one tuning step fewer changes them)', async () => {
    const e = env();
    const exp = stageExperiment(BASE, parseSelectionConfig({ stages: STAGES }), 'tune');
    const a = await gradtsTaskImportance(e, exp, 'MRPC', { maxMeasureRows: 5, instances: true });
    const b = await gradtsTaskImportance(e, exp, 'MRPC', { maxMeasureRows: 5, instances: true });
    expect(b.taskMatrix).toEqual(a.taskMatrix);
    expect(a.instances!.uids).toEqual(['MRPC-p0', 'MRPC-p1', 'MRPC-p2', 'MRPC-p3', 'MRPC-p4']);
    expect(a.instances!.matrices).toHaveLength(5);
    const untuned = await gradtsTaskImportance(e, { ...exp, epochs: 0.01 }, 'MRPC', { maxMeasureRows: 5 });
    expect(untuned.taskMatrix).not.toEqual(a.taskMatrix);
  });
});
