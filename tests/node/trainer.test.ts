import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { useBackend } from '../helpers/nodeBackends.ts';
import { tinyExperiment, tinyTrainer, toyRows, toySplits } from '../helpers/tinyTraining.ts';
import { BatchReader } from '../../src/engine/data/batchReader.ts';
import { memorySplit } from '../../src/engine/train/memorySplit.ts';
import { batchToTensors, disposeBatch } from '../../src/engine/train/batchTensors.ts';
import { microBatchGradients } from '../../src/engine/train/trainStep.ts';
import { decodeTrainState, MemoryTrainStateStore, readVariables } from '../../src/engine/train/trainState.ts';
import type { Trainer } from '../../src/engine/train/trainer.ts';
import { trainReaderSeed } from '../../src/engine/train/microBatchSchedule.ts';
import { evaluateTasks } from '../../src/engine/train/evaluate.ts';
import type { StepEvent } from '../../src/engine/train/trainEvents.ts';
import type { NamedTensor } from '../../src/engine/checkpoint/types.ts';

const live: Trainer[] = [];
function track(t: Trainer): Trainer {
  live.push(t);
  return t;
}
afterEach(() => {
  for (const t of live.splice(0)) {
    t.dispose();
    t.model.dispose();
  }
});

beforeAll(async () => {
  await useBackend('cpu');
});

const byName = (ts: NamedTensor[]) => new Map(ts.map((t) => [t.name, t]));

function maxDiff(a: NamedTensor[], b: NamedTensor[]): number {
  const mb = byName(b);
  expect(a.map((t) => t.name).sort()).toEqual(b.map((t) => t.name).sort());
  let worst = 0;
  for (const t of a) {
    const u = mb.get(t.name)!.data;
    for (let i = 0; i < t.data.length; i++) worst = Math.max(worst, Math.abs(t.data[i] - u[i]));
  }
  return worst;
}

describe('optimizer update inside the trainer', () => {
  // One step on one batch of 8 rows (the whole split), dropout 0, constant LR, global clipping active.
  async function oneStep(kind: 'adamax' | 'adam') {
    const lr = 1e-2;
    const clip = 1e-3;
    const exp = tinyExperiment({
      tasks: [{ name: 'RTE', dropout: 0 }],
      encoderDropout: 0,
      batchSize: 8,
      epochs: 1,
      globalClip: clip,
      schedule: { kind: 'constant' },
      optimizer: { kind, lr, weightDecay: 0.01 },
    });
    const train = memorySplit('RTE', 'train', toyRows('pair', 8, 3));
    const trainer = track(tinyTrainer(exp, { RTE: { train } }));
    expect(trainer.totalSteps).toBe(1);
    const vars = trainer.model.namedVariables();
    const before = await readVariables(vars);
    // The trainer's first batch, bit for bit (a reordered batch would change the float32 sums of the gradient).
    const b = new BatchReader([train], { batchSize: 8, seed: trainReaderSeed(exp.seed, 'RTE') }).next();
    const t = batchToTensors(b, 'classification', 2);
    const r = microBatchGradients(trainer.model, 'RTE', t, { seed: 0, weight: 1, scale: 1 }); // dropout is 0: the seed is unused
    disposeBatch(t);
    const grads = new Map([...r.grads].map(([n, g]) => [n, Float64Array.from(g.dataSync())]));
    tf.dispose([...r.grads.values(), r.taskLoss, r.totalLoss]);
    expect(grads.size).toBe(vars.size);

    await trainer.trainStep();
    const after = byName(await readVariables(vars));

    let sq = 0;
    for (const g of grads.values()) for (const x of g) sq += x * x;
    const coef = Math.min(1, clip / (Math.sqrt(sq) + 1e-6)); // torch clip_grad_norm_
    expect(coef).toBeLessThan(1); // clipping is exercised
    const eps = 1e-6;
    let worst = 0;
    let checked = 0;
    for (const p of before) {
      const g = grads.get(p.name)!;
      const decays = !/bias|LayerNorm|gamma|beta/.test(p.name);
      const now = after.get(p.name)!.data;
      for (let i = 0; i < g.length; i++) {
        const gc = g[i] * coef;
        const theta = p.data[i];
        let delta: number;
        if (kind === 'adamax') {
          // MT-DNN Adamax, first step from zero slots: m = (1−β₁)g, u = max(0, |g| + ε), θ −= lr·(m/(u+ε) + wd·θ).
          const m = 0.1 * gc;
          const u = Math.abs(gc) + eps;
          delta = -lr * (m / (u + eps) + (decays ? 0.01 * theta : 0));
        } else {
          // torch Adam, t = 1: m̂ = g, v̂ = g², θ −= lr·m̂/(√v̂ + ε); 'adam' has no weight decay.
          delta = -lr * (gc / (Math.abs(gc) + eps));
        }
        // float32: θ_new is rounded to half an ulp of θ (2^-24 relative, doubled for headroom), and the update's
        // own float32 factors (β, √bc₂, lr/bc₁ as float32 scalars) put a few 1e-8 of relative error on Δ.
        // A missing weight-decay term (lr·wd·θ ≈ 2e-6) or wrong bias correction is orders of magnitude larger.
        const tol = Math.abs(theta) * 2.4e-7 + Math.abs(delta) * 1e-6 + 1e-9;
        const err = Math.abs(now[i] - theta - delta);
        worst = Math.max(worst, err / tol);
        checked++;
      }
    }
    return { worst, checked };
  }

  it('Adamax (MT-DNN: no bias correction, ε twice, decoupled decay) matches the float64 formula', async () => {
    const { worst, checked } = await oneStep('adamax');
    expect(checked).toBeGreaterThan(3000);
    expect(worst).toBeLessThanOrEqual(1);
  });

  it('Adam (bias-corrected, t = 1) matches the float64 formula', async () => {
    const { worst } = await oneStep('adam');
    expect(worst).toBeLessThanOrEqual(1);
  });
});

describe('reproducibility and resume', () => {
  // Two tasks, dropout on, SIWLM weighting with its alternation, gradient accumulation across epoch ends.
  // RTE uses the SAN answer module (its stochastic prediction dropout must be seeded per step as well).
  const exp = tinyExperiment({
    tasks: [{ name: 'RTE', head: 'san' }, { name: 'STS-B' }],
    epochs: 3,
    gradAccumulation: 2,
    siwlm: { enabled: true, centralTask: 'STS-B', centralWeight: 3 },
  });
  // Training splits only: no dev evaluation at the epoch ends, to keep the runs short.
  const data = Object.fromEntries(Object.entries(toySplits(22)).map(([k, v]) => [k, { train: v.train }]));

  async function lossCurve(e = exp, steps = 8): Promise<number[]> {
    const losses: number[] = [];
    const t = track(tinyTrainer(e, data, { onEvent: (ev) => ev.type === 'step' && losses.push(ev.loss) }));
    expect(t.totalSteps).toBe(18); // 6 + 6 batches per epoch, 3 epochs, 2 per step
    for (let i = 0; i < steps; i++) await t.trainStep(); // crosses the end of epoch 0 (step 6)
    return losses;
  }

  it('the same seed gives the same loss curve twice; another seed a different one', async () => {
    const a = await lossCurve();
    const b = await lossCurve();
    expect(a.length).toBe(8);
    expect(b).toEqual(a);
    const c = await lossCurve(tinyExperiment({ ...exp, seed: 2 }));
    expect(c).not.toEqual(a);
  });

  it('stopped at step 7, saved, restored into a fresh trainer and continued: the same parameters at step 18', async () => {
    const fullLosses: number[] = [];
    const full = track(tinyTrainer(exp, data, { onEvent: (ev) => ev.type === 'step' && fullLosses.push(ev.loss) }));
    await full.run();
    const fullState = await full.getState();

    const store = new MemoryTrainStateStore();
    const first = track(tinyTrainer(exp, data, { store, onEvent: (ev) => ev.type === 'step' && ev.step === 7 && first.stop() }));
    const r1 = await first.run();
    expect(r1).toMatchObject({ status: 'stopped', step: 7 });
    expect(store.savedSteps).toEqual([6, 7]); // epoch 0 ends at step 6; the stop saves step 7

    const resumedLosses: number[] = [];
    const second = track(tinyTrainer(exp, data, { store, onEvent: (ev) => ev.type === 'step' && resumedLosses.push(ev.loss) }));
    for (const v of second.model.namedVariables().values()) v.assign(tf.zerosLike(v)); // nothing may survive but the state
    expect(await second.restoreFromStore()).toBe(true);
    expect(second.step).toBe(7);
    const r2 = await second.run();
    expect(r2).toMatchObject({ status: 'done', step: 18 });
    const resumed = await second.getState();
    expect(maxDiff(resumed.model, fullState.model)).toBe(0);
    expect(maxDiff(resumed.optimizer.slots, fullState.optimizer.slots)).toBe(0);
    expect(resumedLosses).toEqual(fullLosses.slice(7));
    expect(resumed.meta.readers).toEqual(fullState.meta.readers);
    expect(resumed.meta.siwlm).toEqual(fullState.meta.siwlm);
  });

  it('a state saved by a different experiment is refused, naming the fields', async () => {
    const store = new MemoryTrainStateStore();
    const t = track(tinyTrainer(exp, data, { store }));
    await t.trainStep();
    await t.saveCheckpoint();
    const other = track(tinyTrainer(tinyExperiment({ ...exp, batchSize: 8 }), data, { store }));
    await expect(other.restoreFromStore()).rejects.toThrow('saved by a different experiment (fields differ: batchSize)');
    const state = decodeTrainState((await store.load())!, 'memory');
    expect(state.meta.step).toBe(1);
  });
});

describe('learning', () => {
  // wasm: tfjs's cpu kernels broadcast slowly (3× slower here); what is learnt does not depend on the backend.
  beforeAll(() => useBackend('wasm'));
  afterAll(() => useBackend('cpu'));
  it('overfits 64 training examples to near-zero loss (wasm)', async () => {
    const train = memorySplit('RTE', 'train', toyRows('pair', 64, 11));
    const exp = tinyExperiment({
      tasks: [{ name: 'RTE', dropout: 0 }],
      encoderDropout: 0,
      batchSize: 32,
      epochs: 60,
      globalClip: 0,
      optimizer: { kind: 'adam', lr: 1e-2 },
      schedule: { kind: 'warmup_linear', warmup: 0.1 },
    });
    let last: StepEvent | null = null;
    // No dev split: the train set is scored once at the end instead of after every 2-step epoch.
    const t = track(tinyTrainer(exp, { RTE: { train } }, { onEvent: (e) => e.type === 'step' && (last = e) }));
    const r = await t.run();
    expect(r.status).toBe('done');
    const spec = t.model.slot('RTE').spec;
    const [score] = (await evaluateTasks(t.model, [{ spec, dev: train }], 64, { step: t.step, epoch: 0 })).tasks;
    console.log(
      `overfit 64 examples: ${t.totalSteps} steps (batch 32, Adam 1e-2, warmup_linear 0.1), last batch loss ${last!.loss.toFixed(4)}, train-set loss ${score.loss.toFixed(4)}, acc ${score.metrics.acc}`,
    );
    expect(t.totalSteps).toBe(120);
    expect(score.loss).toBeLessThan(0.05);
    expect(score.metrics.acc).toBe(1);
  });
});
