import 'fake-indexeddb/auto';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../helpers/nodeBackends.ts';
import { PROBE_ROWS, SYN_TASKS, SYN_VOCAB, demoRun, liveRun, probeBatches } from '../helpers/liveRunFixture.ts';
import { batchMeanLossMaskGrad, maskImportance } from '../../src/engine/analysis/headImportance.ts';
import { correlationUncertainty } from '../../src/engine/analysis/correlationUncertainty.ts';
import { disposeBatch } from '../../src/engine/train/batchTensors.ts';
import { MemoryTrainStateStore } from '../../src/engine/train/trainState.ts';
import { freshModel } from '../../workers/trainer/buildModel.ts';
import { getRun } from '../../workers/trainer/runStore.ts';
import { syntheticSplits, syntheticTokenizer } from '../../workers/trainer/syntheticData.ts';

/** The trainer worker's run adapter in Node (cpu backend, fake IndexedDB), on the offline demo's data. */

beforeAll(async () => {
  await useBackend('cpu');
});

const TASKS = SYN_TASKS;

describe('synthetic demo data', () => {
  it('tokenizes each generated example to one id per word, with the segments of pair tasks', () => {
    const s = syntheticSplits(TASKS, { trainRows: 20, devRows: 8, seed: 3, maxLength: 32 });
    const tok = syntheticTokenizer();
    expect(tok.vocabSize).toBe(45);
    const match = s['SYN-MATCH'].train;
    expect(match.rows).toBe(20);
    for (let r = 0; r < match.rows; r++) {
      const ids = Array.from(match.ids.subarray(match.offsets[r], match.offsets[r + 1]));
      expect(ids[0]).toBe(2); // [CLS]
      expect(ids[match.segmentA[r] - 1]).toBe(3); // [SEP] closes segment A
      expect(ids[ids.length - 1]).toBe(3);
      // Label 1 iff both segments start with the same word.
      expect(match.labels[r]).toBe(ids[1] === ids[match.segmentA[r]] ? 1 : 0);
    }
    expect(s['SYN-COUNT'].dev!.manifest.taskType).toBe('regression');
    // Same seed, same rows (what lets a reloaded page resume); dev differs from train.
    const again = syntheticSplits(TASKS, { trainRows: 20, devRows: 8, seed: 3, maxLength: 32 });
    expect(Array.from(again['SYN-FIRST'].train.ids)).toEqual(Array.from(s['SYN-FIRST'].train.ids));
    expect(s['SYN-FIRST'].dev!.uids[0]).not.toBe(s['SYN-FIRST'].train.uids[0]);
  });
});

describe('LiveRun', () => {
  it('streams batched updates, keeps the run record in IndexedDB and measures mask importance on the probe batch', async () => {
    const { exp, splits } = demoRun(2);
    const tensorsBefore = tf.memory().numTensors;
    const model = freshModel(exp, { vocabSize: SYN_VOCAB });
    const store = new MemoryTrainStateStore();
    const { trainer, run, updates } = liveRun('run-node-test', { exp, splits, model, store, options: { importanceEvery: 2, probeRows: PROBE_ROWS } });
    const result = await run.run();
    try {
      expect(result.status).toBe('done');
      expect(trainer.totalSteps).toBe(4);
      // One loss point per step (one task per batch), delivered once across the batched updates.
      const points = updates.flatMap((u) => u.newLosses);
      expect(points.map((p) => p.step)).toEqual([1, 2, 3, 4]);
      expect(new Set(points.map((p) => p.task))).toEqual(new Set(TASKS));
      expect(updates.length).toBeLessThan(20);
      const last = updates[updates.length - 1].summary;
      expect([last.status, last.step, last.totalSteps, last.checkpointStep]).toEqual(['done', 4, 4, 4]);
      expect(store.savedSteps).toEqual([2, 4]);

      // The final importance is the live mask measure on each task's first 8 dev rows in 8 probe batches of one
      // row, in eval mode; the correlations' uncertainty is the engine's over those batches.
      const imp = last.importance!;
      expect(imp.step).toBe(4);
      expect(imp.probeRows).toEqual(Object.fromEntries(TASKS.map((t) => [t, 8])));
      const units: Record<string, number[][][]> = {};
      for (const task of TASKS) {
        const ts = probeBatches(model, splits, task);
        const direct = await maskImportance(model.encoder, model.head(task), ts, { perExample: false, taskId: model.taskId(task) });
        units[task] = [];
        for (const t of ts) units[task].push(await batchMeanLossMaskGrad(model.encoder, model.head(task), t, { taskId: model.taskId(task) }));
        ts.forEach(disposeBatch);
        imp.tasks[task].forEach((row, l) => row.forEach((x, h) => expect(x).toBeCloseTo(direct.normalized[l][h], 6)));
        expect(Math.max(...imp.tasks[task].flat())).toBe(1);
      }
      const u = last.correlation!.uncertainty!.kendall_tau_b;
      const engine = correlationUncertainty(units, { method: 'kendall_tau_b', bootstrap: 500, permutations: 1000, seed: 4 });
      expect(u.pairs.map((p) => [p.a, p.b, p.n, p.p])).toEqual(engine.pairs.map((p) => [p.a, p.b, p.n, p.p]));
      u.pairs.forEach((p, i) => {
        expect(p.value).toBeCloseTo(engine.pairs[i].value, 6);
        expect(p.interval![0]).toBeCloseTo(engine.pairs[i].interval![0], 6);
        expect(p.interval![1]).toBeCloseTo(engine.pairs[i].interval![1], 6);
      });
      const c = last.correlation!.kendall_tau_b;
      expect(c.tasks).toEqual(TASKS);
      c.values.forEach((row, i) => {
        expect(row[i]).toBeCloseTo(1, 12);
        row.forEach((x, j) => expect(x).toBeCloseTo(c.values[j][i], 12));
      });

      const stored = (await getRun('run-node-test'))!;
      expect(stored.status).toBe('done');
      expect(stored.losses.map((p) => p.step)).toEqual([1, 2, 3, 4]);
      expect(stored.importance!.step).toBe(4);
    } finally {
      trainer.dispose();
      model.dispose();
    }
    // Training, evaluation and the importance measurements leave no tensor behind.
    expect(tf.memory().numTensors).toBe(tensorsBefore);
  });
});
