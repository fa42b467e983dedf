import 'fake-indexeddb/auto';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../helpers/nodeBackends.ts';
import { maskImportance } from '../../src/engine/analysis/headImportance.ts';
import { BatchReader } from '../../src/engine/data/batchReader.ts';
import { batchToTensors, disposeBatch } from '../../src/engine/train/batchTensors.ts';
import { subsetSplit } from '../../src/engine/train/memorySplit.ts';
import { Trainer } from '../../src/engine/train/trainer.ts';
import { MemoryTrainStateStore } from '../../src/engine/train/trainState.ts';
import { parseAppExperiment } from '../../src/urlState/appExperiment.ts';
import { syntheticDemoExperiment } from '../../src/urlState/defaults.ts';
import { freshModel } from '../../workers/trainer/buildModel.ts';
import { LiveRun } from '../../workers/trainer/liveRun.ts';
import { syntheticSplits } from '../../workers/trainer/syntheticData.ts';
import type { RunRecord, RunUpdate } from '../../workers/trainer/types.ts';

beforeAll(async () => {
  await useBackend('cpu');
});

const TASKS = ['SYN-FIRST', 'SYN-CONTAINS', 'SYN-MATCH', 'SYN-COUNT'];

describe('LiveRun: the Heads view has a map from the start', () => {
  it('measures head importance at step 0, on the initial weights, long before step importanceEvery', async () => {
    const exp = parseAppExperiment({
      ...syntheticDemoExperiment(),
      tasks: TASKS.map((name) => ({ name, maxTrainRows: 16 })),
      epochs: 1,
      checkpointEvery: 0,
      evalEvery: 0,
    });
    const splits = syntheticSplits(TASKS, { trainRows: 16, devRows: 8, seed: exp.seed, maxLength: exp.maxLength });
    const tensorsBefore = tf.memory().numTensors;
    // Random init is seeded: `initial` holds the weights the run starts from, untouched by training.
    const initial = freshModel(exp, { vocabSize: 45 });
    const model = freshModel(exp, { vocabSize: 45 });
    const now = new Date().toISOString();
    const record: RunRecord = {
      id: 'run-first-map',
      name: exp.name,
      createdAt: now,
      updatedAt: now,
      status: 'preparing',
      experiment: exp,
      model: { origin: 'random', layers: 2, heads: 4, hidden: 64, vocabSize: 45 },
      dataKind: 'synthetic',
      backend: 'cpu',
      step: 0,
      totalSteps: 0,
      checkpointStep: null,
      evaluation: null,
      importance: null,
      correlation: null,
      lr: 0,
      examplesPerSec: 0,
      etaSeconds: 0,
      elapsedSeconds: 0,
      losses: [],
      data: { kind: 'synthetic', trainRows: 16, devRows: 8 },
      // Far beyond the run's 4 steps: without the start measurement only the final one would exist.
      options: { importanceEvery: 1000, probeRows: 8 },
      configJson: '{}',
      vocabText: '',
      doLowerCase: true,
    };
    const updates: RunUpdate[] = [];
    let run: LiveRun | null = null;
    const trainer = new Trainer({ experiment: exp, model, data: splits, store: new MemoryTrainStateStore(), onEvent: (e) => run?.handle(e) });
    run = new LiveRun(record, trainer, model, splits, (u) => updates.push(structuredClone(u)));
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
        const probe = subsetSplit(splits[task].dev!, [0, 1, 2, 3, 4, 5, 6, 7]);
        const spec = initial.slot(task).spec;
        // The live measure sums |∂ mean loss/∂m| over the probe's units (8 rows → 8 batches of one row).
        const reader = new BatchReader([probe], { batchSize: 1, seed: 0, shuffle: false, bucketBatches: 1 });
        const ts = Array.from({ length: 8 }, () => batchToTensors(reader.next(), spec.type, spec.numLabels));
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
