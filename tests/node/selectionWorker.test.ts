import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../helpers/nodeBackends.ts';
import type { GradtsTrialReasons } from '../../src/engine/selection/gradtsTrial.ts';
import type { RandomReasons } from '../../src/engine/selection/randomSelect.ts';
import { runSelection } from '../../src/engine/selection/runSelection.ts';
import type { SelectionResult } from '../../src/engine/selection/selectionResult.ts';
import type { SelectionEnv } from '../../src/engine/selection/trainRunner.ts';
import { buildEncoder } from '../../src/engine/model/modelFactory.ts';
import { trainRowsFor } from '../../src/engine/train/trainSubset.ts';
import { parseAppExperiment, toInput } from '../../src/urlState/appExperiment.ts';
import { syntheticDemoExperiment } from '../../src/urlState/defaults.ts';
import { selectionCsv } from '../../src/ui/exports/selectionCsv.ts';
import { defaultSelectionForm, selectionInputs, type SelectionForm } from '../../src/ui/state/selectionForm.ts';
import { chosenTasks, trainingSummary } from '../../src/ui/state/selectionSummary.ts';
import { loadRunData } from '../../workers/trainer/runData.ts';
import { SelectionJob } from '../../workers/trainer/selectionJob.ts';
import { workerSelectionEnv } from '../../workers/trainer/selectionEnv.ts';
import { SYNTHETIC_SPECS, syntheticSplits } from '../../workers/trainer/syntheticData.ts';
import type { RunData, SelectionProgress } from '../../workers/trainer/types.ts';

/**
 * The trainer worker's selection path in Node (wasm): the Selection view's form → the worker's env (its run
 * data and initial model) → the engine. The same request must choose what the engine chooses when called
 * directly on data and an encoder built by hand (the CLI's recipe: generated rows, trainRowsFor, buildEncoder).
 */

const TASKS = ['SYN-FIRST', 'SYN-CONTAINS', 'SYN-MATCH', 'SYN-COUNT'];
const DEMO = parseAppExperiment(syntheticDemoExperiment());
const DATA = { kind: 'synthetic', trainRows: 48, devRows: 32 } satisfies RunData;
const noShards = () => Promise.reject(new Error('no shards in this test'));

beforeAll(async () => {
  await useBackend('wasm');
});

function form(over: Partial<SelectionForm>): SelectionForm {
  return { ...defaultSelectionForm(DEMO), maxTrainRows: 48, epochs: { tune: 1, trial: 1, td: 1, train: 1 }, ...over };
}

/** What the worker does for a request, minus comlink. */
async function viaWorker(f: SelectionForm, progress: SelectionProgress[] = []) {
  const { experiment, selection } = selectionInputs(f, DEMO);
  const job = new SelectionJob(experiment, selection, (p) => progress.push(p));
  const env = workerSelectionEnv(experiment, await loadRunData(experiment, DATA, noShards), { vocabSize: 45 });
  return { job, result: () => job.run(env) };
}

/** The engine on data and encoders built by hand from the same request. */
async function direct(f: SelectionForm): Promise<SelectionResult> {
  const { experiment, selection } = selectionInputs(f, DEMO);
  const gen = syntheticSplits(TASKS, { trainRows: DATA.trainRows, devRows: DATA.devRows, seed: experiment.seed, maxLength: experiment.maxLength });
  const env: SelectionEnv = {
    data: Object.fromEntries(experiment.tasks.map((t) => [t.name, { train: trainRowsFor(gen[t.name].train, t, experiment.seed), dev: gen[t.name].dev }])),
    makeEncoder: (e) => buildEncoder(e, { vocabSize: 45 }),
    specs: SYNTHETIC_SPECS,
  };
  return runSelection({ base: toInput(experiment), selection, env, parse: parseAppExperiment });
}

const inUnit = (m: Record<string, number | undefined>) => Object.values(m).every((x) => typeof x === 'number' && Number.isFinite(x) && x >= 0 && x <= 1);

describe('selection in the trainer worker', () => {
  it('random: the worker path draws the same examples and trains to the same dev metrics as the engine called directly', async () => {
    const f = form({ method: 'random', target: 'SYN-MATCH', num: 40, tdPerTask: 16, seed: 3 });
    const progress: SelectionProgress[] = [];
    const before = tf.memory().numTensors;
    const w = await (await viaWorker(f, progress)).result();
    expect(tf.memory().numTensors).toBe(before);
    const d = await direct(f);
    expect(w.method).toBe('random');
    expect(w.target).toBe('SYN-MATCH');
    expect(w.chosen).toEqual(d.chosen);
    expect(w.examples).toEqual(d.examples);
    // 48 rows per task, 16 go to the TD sample: 3 pools of 32 candidates, 40 examples drawn from their 96 rows.
    const reasons = w.reasons as RandomReasons;
    expect(reasons.poolSize).toBe(96);
    expect(Object.values(w.examples!).reduce((a, u) => a + u.length, 0)).toBe(40);
    expect(w.chosen.every((t) => TASKS.includes(t) && t !== 'SYN-MATCH')).toBe(true);
    expect(w.training!.rows).toEqual(d.training!.rows);
    expect(w.training!.rows['SYN-MATCH']).toBe(48);
    expect(w.training!.last).toEqual(d.training!.last);
    expect(Object.keys(w.training!.last).sort()).toEqual(['acc', 'f1']);
    expect(inUnit(w.training!.last)).toBe(true);
    // One epoch, evaluated once at its end (stages.all.evalEvery 0), reported as a log line.
    expect(w.training!.epochs.length).toBe(1);
    const evalLines = progress.filter((p) => p.line?.startsWith('random training: epoch '));
    expect(evalLines.length).toBe(1);
    expect(evalLines[0].line).toContain(`dev SYN-MATCH acc ${w.training!.last.acc!.toFixed(4)}`);
    expect(progress.filter((p) => p.run === 'random training' && p.totalSteps).length).toBeGreaterThan(0);
    expect(chosenTasks(w).map((c) => c.examples)).toEqual(w.chosen.map((t) => w.examples![t].length));
    // The CSV lists the 40 drawn examples under the header.
    expect(selectionCsv(w).trim().split('\n').length).toBe(41);
  });

  it('gradts-trial: the same trials, correlations and choice as the engine called directly', async () => {
    const f = form({ method: 'gradts-trial', target: 'SYN-FIRST', maxMeasureRows: 8, maxTrials: 2 });
    const w = await (await viaWorker(f)).result();
    const d = await direct(f);
    const wr = w.reasons as GradtsTrialReasons;
    const dr = d.reasons as GradtsTrialReasons;
    expect(w.method).toBe('gradts-trial');
    expect(w.chosen).toEqual(d.chosen);
    expect(wr.correlations).toEqual(dr.correlations);
    expect(wr.trials.map((t) => [t.tasks, t.best, t.score, t.continue])).toEqual(dr.trials.map((t) => [t.tasks, t.best, t.score, t.continue]));
    expect(wr.correlations.map((c) => c.task).sort()).toEqual(['SYN-CONTAINS', 'SYN-COUNT', 'SYN-MATCH']);
    expect(wr.correlations.every((c) => c.correlation >= -1 && c.correlation <= 1)).toBe(true);
    expect(wr.trials.length).toBeGreaterThanOrEqual(1);
    expect(wr.trials.length).toBeLessThanOrEqual(2);
    expect(w.chosen.length).toBeGreaterThanOrEqual(1);
    const t = trainingSummary(w)!;
    expect(t.tasks).toEqual(['SYN-FIRST', ...w.chosen]);
    expect(inUnit(t.metrics)).toBe(true);
    expect(t.wallSeconds).toBeGreaterThan(0);
  });

  it('stop: the selection rejects with "selection stopped" at the next step and leaves no tensor behind', async () => {
    const progress: SelectionProgress[] = [];
    const before = tf.memory().numTensors;
    const { job, result } = await viaWorker(form({ method: 'random', target: 'SYN-FIRST', epochs: { tune: 1, trial: 1, td: 1, train: 50 } }), progress);
    const pending = result();
    // Stop once the training has taken a step (the first tick is sent at step 1).
    await expect.poll(() => progress.some((p) => (p.step ?? 0) >= 1), { timeout: 60_000, interval: 5 }).toBe(true);
    job.stop();
    await expect(pending).rejects.toThrow('selection stopped');
    const steps = progress.filter((p) => p.step !== undefined).map((p) => p.step!);
    expect(Math.max(...steps)).toBeLessThan(progress.find((p) => p.totalSteps)!.totalSteps!);
    expect(tf.memory().numTensors).toBe(before);
  });

  it("the engine's default parser takes the synthetic task names (no app wrapper needed)", async () => {
    const { experiment, selection } = selectionInputs(form({ method: 'random', target: 'SYN-FIRST' }), DEMO);
    const env = workerSelectionEnv(experiment, await loadRunData(experiment, DATA, noShards), { vocabSize: 45 });
    const r = await runSelection({ base: toInput(experiment), selection, env });
    expect(r.method).toBe('random');
    expect(r.target).toBe('SYN-FIRST');
    expect(r.training?.last.acc).toBeGreaterThanOrEqual(0);
  });

  it('the form refuses a target outside the experiment and a stage with 0 epochs, before anything is sent', () => {
    expect(() => selectionInputs(form({ target: 'RTE' }), DEMO)).toThrow("target: RTE is not one of the experiment's tasks");
    expect(() => selectionInputs(form({ method: 'fastmtl', epochs: { tune: 1, trial: 1, td: 0, train: 1 } }), DEMO)).toThrow(
      /selection stage 'td'.*\n.*epochs/,
    );
    const { experiment, selection } = selectionInputs(form({ method: 'gradts-fg', threshold: 0.5, maxTrainRows: 32 }), DEMO);
    expect(experiment.tasks.map((t) => t.maxTrainRows)).toEqual([32, 32, 32, 32]);
    expect(selection).toMatchObject({
      method: 'gradts-fg',
      target: 'SYN-FIRST',
      threshold: 0.5,
      maxMeasureRows: 16,
      stages: { all: { evalEvery: 0, batchSize: 16 }, tune: { epochs: 1 }, trial: { epochs: 1 } },
    });
    expect(selection.num).toBeUndefined();
  });
});
