import 'fake-indexeddb/auto';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../helpers/nodeBackends.ts';
import { PROBE_ROWS, SYN_TASKS, SYN_VOCAB, demoRun, liveRun, probeBatches } from '../helpers/liveRunFixture.ts';
import { maskImportance } from '../../src/engine/analysis/headImportance.ts';
import { disposeBatch } from '../../src/engine/train/batchTensors.ts';
import { MemoryTrainStateStore } from '../../src/engine/train/trainState.ts';
import { freshModel } from '../../workers/trainer/buildModel.ts';

beforeAll(async () => {
  await useBackend('cpu');
});

const TASKS = SYN_TASKS;

describe('LiveRun: the Heads view has a map from the start', () => {
  it('measures head importance at step 0, on the initial weights, long before step importanceEvery', async () => {
    const { exp, splits } = demoRun(0);
    const tensorsBefore = tf.memory().numTensors;
    // Random init is seeded: `initial` holds the weights the run starts from, untouched by training.
    const initial = freshModel(exp, { vocabSize: SYN_VOCAB });
    const model = freshModel(exp, { vocabSize: SYN_VOCAB });
    // importanceEvery far beyond the run's 4 steps: without the start measurement only the final one would exist.
    const { trainer, run, updates } = liveRun('run-first-map', {
      exp,
      splits,
      model,
      store: new MemoryTrainStateStore(),
      options: { importanceEvery: 1000, probeRows: PROBE_ROWS },
    });
    try {
      const result = await run.run();
      expect(result.status).toBe('done');
      expect(trainer.totalSteps).toBe(4);
      const measuredAt = [...new Set(updates.map((u) => u.summary.importance?.step).filter((s) => s !== undefined))];
      expect(measuredAt).toEqual([0, 4]);
      const first = updates.find((u) => u.summary.importance)!.summary;
      expect(first.importance!.step).toBe(0);
      expect(Object.keys(first.importance!.tasks).sort()).toEqual([...TASKS].sort());
      // Four tasks measured: the correlation view has its first matrix at step 0 too.
      expect(first.correlation!.step).toBe(0);
      for (const task of TASKS) {
        // The live measure sums |∂ mean loss/∂m| over the probe's units (8 rows → 8 batches of one row).
        const ts = probeBatches(initial, splits, task);
        const direct = await maskImportance(initial.encoder, initial.head(task), ts, { perExample: false, taskId: initial.taskId(task) });
        ts.forEach(disposeBatch);
        first.importance!.tasks[task].forEach((row, l) => row.forEach((x, h) => expect(x).toBeCloseTo(direct.normalized[l][h], 6)));
      }
    } finally {
      trainer.dispose();
      model.dispose();
      initial.dispose();
    }
    expect(tf.memory().numTensors).toBe(tensorsBefore);
  });
});
