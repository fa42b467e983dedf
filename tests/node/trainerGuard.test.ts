import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { useBackend } from '../helpers/nodeBackends.ts';
import { tinyExperiment, tinyTrainer, toyRows, toySplits, disposeTrainersAfterEach } from '../helpers/tinyTraining.ts';
import { memorySplit } from '../../src/engine/train/memorySplit.ts';
import { decodeTrainState, MemoryTrainStateStore } from '../../src/engine/train/trainState.ts';
import type { Trainer } from '../../src/engine/train/trainer.ts';
import type { RunStatus, TrainerEvent } from '../../src/engine/train/trainEvents.ts';

const track = disposeTrainersAfterEach();

describe('NaN/Inf guard', () => {
  beforeAll(() => useBackend('cpu'));
  // One task, 160 rows, batch 4: 40 steps in the single epoch, checkpoints every 10.
  const exp = tinyExperiment({ tasks: [{ name: 'RTE' }], epochs: 1, checkpointEvery: 10 });
  const data = { RTE: { train: memorySplit('RTE', 'train', toyRows('pair', 160, 5)) } };

  it('a NaN loss at step 37 stops the run with the message and leaves the step-30 checkpoint intact', async () => {
    const store = new MemoryTrainStateStore();
    let calls = 0;
    const events: TrainerEvent[] = [];
    const poisoned = track(
      tinyTrainer(exp, data, {
        store,
        onEvent: (e) => events.push(e),
        // The 37th batch's loss gets a NaN term (as a poisoned batch or an overflow would give).
        lossExtras: () => (++calls === 37 ? { unweighted: tf.scalar(NaN) } : null),
      }),
    );
    const r = await poisoned.run();
    const message = 'non-finite loss (NaN) at step 37 on task RTE; stopped, last good checkpoint is step 30';
    expect(r).toMatchObject({ status: 'failed', step: 36, message });
    expect(events.at(-1)).toEqual({ type: 'status', status: 'failed', step: 36, message });
    expect(store.savedSteps).toEqual([10, 20, 30]);
    await expect(poisoned.saveCheckpoint()).rejects.toThrow(`trainer: the run stopped (${message}); restore a checkpoint to continue`);
    expect(store.savedSteps).toEqual([10, 20, 30]);

    // The checkpoint equals an unpoisoned run's state at step 30.
    const clean = track(tinyTrainer(exp, data));
    for (let i = 0; i < 30; i++) await clean.trainStep();
    const want = await clean.getState();
    const saved = decodeTrainState((await store.load())!, 'memory');
    expect(saved.meta.step).toBe(30);
    const got = new Map(saved.model.map((t) => [t.name, t.data]));
    for (const t of want.model) expect(got.get(t.name), t.name).toEqual(t.data);

    // ... and the poisoned trainer resumes from it: restoring clears the failure.
    await poisoned.restoreFromStore();
    expect(poisoned.step).toBe(30);
    calls = 1000;
    const r2 = await poisoned.run();
    expect(r2.status).toBe('done');
  });

  it('a NaN regression label in the data stops the run on its step, naming the task', async () => {
    const rows = toyRows('score', 40, 9);
    rows[13] = { ...rows[13], label: NaN };
    const e = tinyExperiment({ tasks: [{ name: 'STS-B' }], epochs: 1, checkpointEvery: 2 });
    const t = track(
      tinyTrainer(e, { 'STS-B': { train: memorySplit('STS-B', 'train', rows, { type: 'regression' }) } }, { store: new MemoryTrainStateStore() }),
    );
    const r = await t.run();
    expect(r.status).toBe('failed');
    const m = /^non-finite loss \(NaN\) at step (\d+) on task STS-B; stopped, (?:last good checkpoint is step (\d+)|no checkpoint was saved)$/.exec(r.message!);
    expect(m, r.message).not.toBeNull();
    const step = Number(m![1]);
    expect(r.step).toBe(step - 1);
    expect(m![2] === undefined ? 0 : Number(m![2])).toBe(2 * Math.floor((step - 1) / 2));
  });
});

describe('tensor count', () => {
  it('tf.memory().numTensors is flat over 1,000 training steps (wasm)', async () => {
    await useBackend('wasm');
    // 1 layer, H 8, one task, batch 2: the step is all per-op overhead, which wasm keeps lowest.
    const exp = tinyExperiment({
      tasks: [{ name: 'RTE' }],
      batchSize: 2,
      epochs: 100,
      model: { kind: 'random', layers: 1, hidden: 8, heads: 2, intermediate: 8, vocab: 'synthetic' },
    });
    const split = memorySplit('RTE', 'train', toyRows('pair', 20, 2));
    const t = track(tinyTrainer(exp, { RTE: { train: split, dev: split } }, { store: new MemoryTrainStateStore() }));
    const counts: number[] = [];
    const t0 = performance.now();
    for (let i = 1; i <= 1000; i++) {
      await t.trainStep();
      // Evaluation and checkpointing run between steps too; they must not leave tensors behind either.
      if (i % 250 === 0) {
        await t.evaluate();
        await t.saveCheckpoint();
      }
      if (i === 10 || i % 250 === 0) counts.push(tf.memory().numTensors);
    }
    console.log(`numTensors after steps 10, 250, 500, 750, 1000: ${counts.join(', ')}; ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    expect(new Set(counts).size).toBe(1);
  });
});

describe('pause, resume, stop', () => {
  beforeAll(() => useBackend('cpu'));
  it('pauses between steps, resumes, and stops after the current step', async () => {
    const statuses: RunStatus[] = [];
    const steps: number[] = [];
    const t: Trainer = track(
      tinyTrainer(tinyExperiment({ epochs: 5 }), toySplits(16), {
        onEvent: (e) => {
          if (e.type === 'status') statuses.push(e.status);
          if (e.type !== 'step') return;
          steps.push(e.step);
          if (e.step === 3) t.pause();
          if (e.step === 5) t.stop();
        },
      }),
    );
    const running = t.run();
    while (t.status !== 'paused') await new Promise((r) => setTimeout(r, 5));
    await new Promise((r) => setTimeout(r, 100));
    expect(t.step).toBe(3);
    t.resume();
    const r = await running;
    expect(r).toMatchObject({ status: 'stopped', step: 5 });
    expect(steps).toEqual([1, 2, 3, 4, 5]);
    expect(statuses).toEqual(['running', 'paused', 'running', 'stopped']);
  });
});
