import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../../src/engine/runtime/rng.ts';
import { clipGradients, clipGradientsTensor } from '../../src/engine/train/clipGradients.ts';
import {
  OPTIMIZER_KINDS,
  createOptimizer,
  defaultDecays,
  type CommonOptimizerOptions,
  type OptimizerKind,
  type SlotOptimizer,
  type TrainableParam,
} from '../../src/engine/train/optim/index.ts';
import { REF_DEFAULTS, REF_STEP, refParam, refScheduleStep, type RefHyper } from '../helpers/optimReference.ts';
import { warmupLinear, warmupLinearOld } from '../../src/engine/train/schedule.ts';

/**
 * Parameters after each of 8 steps from θ₀ = THETA0 with gradients GRADS, computed in float64 PyTorch 1.13 by
 * transcriptions of the originals (namisan/mt-dnn module/bert_optim.py Adamax and RAdam; Bert-n-Pals
 * optimization.py BERTAdam) and by torch.optim.Adam / AdamW. Settings: lr 0.01; Adamax and RAdam with
 * warmup_linear(0.2) over t_total 10 and wd 0.01; BERTAdam with the old warmup_linear(0.2), t_total 10, wd 0.01,
 * per-parameter clip 1.0; Adam constant lr; AdamW constant lr, wd 0.01. Rows: after step 2 and after step 8.
 */
const THETA0 = [1.0, -0.5, 0.25, 2.0, -1.5];
const GRADS = [
  [0.5, -0.3, 0.8, 0.1, -0.2],
  [0.4, 0.2, -0.6, 0.3, 0.0],
  [-0.7, 0.5, 0.9, -0.4, 0.6],
  [0.2, -0.8, 0.1, 0.5, -0.3],
  [1.2, 0.4, -0.5, -0.9, 0.7],
  [-0.3, 0.6, 0.2, 0.8, -1.1],
  [0.9, -0.2, -0.4, 0.3, 0.5],
  [-0.5, 0.7, 0.6, -0.6, 0.2],
];
const TORCH: Record<OptimizerKind, { after2: number[]; after8: number[] }> = {
  adamax: {
    after2: [0.9990991525542423, -0.499858217328824, 0.2499124251127061, 1.9992500043333044, -1.4994745540562635],
    after8: [0.9957640051314312, -0.5013219939814765, 0.24662291987560608, 1.9975778638342792, -1.500519791358019],
  },
  radam: {
    after2: [0.9928771431453949, -0.4980568432819737, 0.2453315854405263, 1.9971476586817107, -1.4978278838107897],
    after8: [0.9894500932238395, -0.49855129685996935, 0.23912746016236816, 1.9963419126400181, -1.5001370553315674],
  },
  bertadam: {
    after2: [0.9789310411720773, -0.49704862047050813, 0.2482403038665255, 1.9804386583344817, -1.4856899154854322],
    after8: [0.9074956502107323, -0.5006553110558493, 0.2009436917548408, 1.9376779075791628, -1.5020584627523272],
  },
  adam: {
    after2: [0.9801187423770218, -0.48855479509285965, 0.23910675006358023, 1.980822190220559, -1.4832994184325559],
    after8: [0.961823004961859, -0.4986094025322598, 0.22388767430665, 1.9766279257016504, -1.492959506787885],
  },
  adamw: {
    after2: [0.9799197523770018, -0.48845580009282635, 0.23905775256356773, 1.980423210220459, -1.4830004334325058],
    after8: [0.9610397286643547, -0.49821534848211796, 0.22370031570640497, 1.9750419572544264, -1.491767352067307],
  },
};
const TORCH_LR: Record<OptimizerKind, (scheduleStep: number) => number> = {
  adamax: (s) => 0.01 * warmupLinear(s / 10, 0.2),
  radam: (s) => 0.01 * warmupLinear(s / 10, 0.2),
  bertadam: (s) => 0.01 * warmupLinearOld(s / 10, 0.2),
  adam: () => 0.01,
  adamw: () => 0.01,
};

describe('float64 reference optimisers against the originals run in PyTorch', () => {
  for (const kind of OPTIMIZER_KINDS) {
    it(`${kind}: 8 steps agree within 1e-12`, () => {
      const p = refParam(THETA0);
      GRADS.forEach((g, k) => {
        REF_STEP[kind](p, g, TORCH_LR[kind](refScheduleStep(kind, p.step, k)), REF_DEFAULTS[kind]);
        if (k === 1) TORCH[kind].after2.forEach((v, i) => expect(Math.abs(p.theta[i] - v)).toBeLessThan(1e-12));
      });
      TORCH[kind].after8.forEach((v, i) => expect(Math.abs(p.theta[i] - v)).toBeLessThan(1e-12));
    });
  }

  it('docs/methods.md §8 Adamax check: θ = 1, g = 0.5, lr 1e-3, wd 0 → 0.9999000004 (float64, within 1e-10)', () => {
    const p = refParam([1]);
    REF_STEP.adamax(p, [0.5], 1e-3, { ...REF_DEFAULTS.adamax, weightDecay: 0 });
    expect(p.s1[0]).toBeCloseTo(0.05, 15);
    expect(p.s2[0]).toBeCloseTo(0.500001, 15);
    expect(Math.abs(p.theta[0] - 0.9999000004)).toBeLessThan(1e-10);
  });
});

/** Read a variable as float64 numbers. */
const values = (v: tf.Tensor) => Array.from(v.dataSync());

interface Setup {
  params: TrainableParam[];
  dispose(): void;
}

/** A dense weight (decays), its bias (no decay) and a head that only gets gradients from step 3 on. */
const SHAPES: Record<string, number[]> = {
  'encoder.layer.0.output.dense.weight': [3, 4],
  'encoder.layer.0.output.dense.bias': [4],
  'heads.1.weight': [2, 2],
};
const HEAD = 'heads.1.weight';
const HEAD_FIRST_GRAD = 3;

function randomInit(seed: number): Record<string, number[]> {
  const rng = new Rng(seed);
  return Object.fromEntries(Object.entries(SHAPES).map(([n, s]) => [n, Array.from({ length: s.reduce((a, b) => a * b, 1) }, () => rng.normal())]));
}

function makeParams(init: Record<string, number[]>): Setup {
  const params = Object.entries(SHAPES).map(([name, shape]) => ({ name, variable: tf.tidy(() => tf.variable(tf.tensor(init[name], shape), true)) }));
  return { params, dispose: () => params.forEach((p) => p.variable.dispose()) };
}

/** Step k's gradients (k from 0): normal, some steps scaled down so per-parameter clipping both fires and not. */
function gradsAt(k: number, seed = 99): Record<string, number[]> {
  const rng = new Rng(seed + 1000 * k);
  const scale = k % 3 === 2 ? 0.05 : 1.5;
  const out: Record<string, number[]> = {};
  for (const [n, s] of Object.entries(SHAPES)) {
    if (n === HEAD && ![3, 4, 7].includes(k)) continue; // the head's task comes up only at steps 3, 4 and 7
    out[n] = Array.from({ length: s.reduce((a, b) => a * b, 1) }, () => scale * rng.normal());
  }
  return out;
}

function withGrads<T>(k: number, f: (g: Map<string, tf.Tensor>) => T, seed?: number): T {
  const g = new Map(Object.entries(gradsAt(k, seed)).map(([n, v]) => [n, tf.tensor(v, SHAPES[n])]));
  try {
    return f(g);
  } finally {
    g.forEach((t) => t.dispose());
  }
}

const lrFn = (s: number) => 0.05 * warmupLinear(s / 12, 0.25);

describe.each(['cpu', 'wasm'])('tfjs optimisers on the %s backend', (backend) => {
  let baseline = 0;
  beforeAll(async () => {
    await tf.setBackend(backend);
    await tf.ready();
    expect(tf.getBackend()).toBe(backend);
    baseline = tf.memory().numTensors;
  });
  afterAll(() => {
    // Every test disposes what it made (parameters, slots, gradients).
    expect(tf.memory().numTensors).toBe(baseline);
  });

  it('docs/methods.md §8 Adamax check in float32: θ = 1, g = 0.5, lr 1e-3 → 0.9999000004', () => {
    const v = tf.tidy(() => tf.variable(tf.tensor([1])));
    const opt = createOptimizer('adamax', [{ name: 'w', variable: v }], { weightDecay: 0 });
    const g = tf.tensor([0.5]);
    opt.step({ w: g }, 1e-3);
    // float32 spacing just below 1 is 2^-24 ≈ 6e-8.
    expect(Math.abs(values(v)[0] - 0.9999000004)).toBeLessThanOrEqual(2 ** -24);
    g.dispose();
    opt.dispose();
    v.dispose();
  });

  for (const kind of OPTIMIZER_KINDS) {
    it(`${kind}: 10 steps of random gradients match the float64 reference within 1e-6 relative`, () => {
      const init = randomInit(17);
      const { params, dispose } = makeParams(init);
      const opt = createOptimizer(kind, params);
      const ref = Object.fromEntries(Object.entries(init).map(([n, v]) => [n, refParam(v)]));
      const hyper = (name: string): RefHyper => ({ ...REF_DEFAULTS[kind], weightDecay: defaultDecays(name) ? REF_DEFAULTS[kind].weightDecay : 0 });
      for (let k = 0; k < 10; k++) {
        withGrads(k, (g) => opt.step(g, lrFn));
        const raw = gradsAt(k);
        for (const name of Object.keys(SHAPES)) {
          // PyTorch 1.x zero_grad: no state before the first gradient, zero gradients after it.
          let grad = raw[name];
          if (!grad) {
            if (name === HEAD && k < HEAD_FIRST_GRAD) continue;
            grad = new Array(init[name].length).fill(0);
          }
          REF_STEP[kind](ref[name], grad, lrFn(refScheduleStep(kind, ref[name].step, k)), hyper(name));
        }
      }
      expect(opt.stepCount).toBe(10);
      let moved = 0;
      for (const { name, variable } of params) {
        const got = values(variable);
        const want = ref[name].theta;
        got.forEach((x, i) => expect(Math.abs(x - want[i])).toBeLessThanOrEqual(1e-6 * Math.abs(want[i]) + 1e-7));
        // The displacement itself (not just θ) must agree, or a tiny update could pass unnoticed.
        let err = 0;
        let disp = 0;
        got.forEach((x, i) => {
          err += Math.abs(x - want[i]);
          disp += Math.abs(want[i] - init[name][i]);
        });
        expect(err / disp).toBeLessThan(1e-5);
        moved += disp;
      }
      expect(moved).toBeGreaterThan(0.05);
      // The head was updated (7 times: steps 3..9) with its own step count.
      expect(ref[HEAD].step).toBe(7);
      opt.dispose();
      dispose();
    });
  }

  it("missingGrad 'skip' leaves a parameter untouched when it has no gradient (PyTorch 2 semantics)", () => {
    const init = randomInit(5);
    const { params, dispose } = makeParams(init);
    const opt = createOptimizer('adamax', params, { missingGrad: 'skip' });
    const ref = refParam(init[HEAD]);
    for (let k = 0; k < 6; k++) {
      withGrads(k, (g) => opt.step(g, 0.01));
      const g = gradsAt(k)[HEAD];
      if (g) REF_STEP.adamax(ref, g, 0.01, REF_DEFAULTS.adamax);
    }
    const head = params.find((p) => p.name === HEAD)!.variable;
    values(head).forEach((x, i) => expect(Math.abs(x - ref.theta[i])).toBeLessThanOrEqual(1e-6 * Math.abs(ref.theta[i]) + 1e-7));
    expect(ref.step).toBe(2);
    opt.dispose();
    dispose();
  });

  for (const kind of OPTIMIZER_KINDS) {
    it(`${kind}: getState/setState resumes bit-identically to an uninterrupted run`, async () => {
      const init = randomInit(23);
      // Uninterrupted: 12 steps.
      const a = makeParams(init);
      const optA = createOptimizer(kind, a.params);
      let snapshot: Record<string, number[]> = {};
      for (let k = 0; k < 12; k++) {
        withGrads(k, (g) => optA.step(g, lrFn));
        if (k === 1) snapshot = Object.fromEntries(a.params.map((p) => [p.name, values(p.variable)]));
      }
      // Interrupted after 2 steps (before the head has state): save, rebuild everything, restore, continue.
      const b = makeParams(init);
      const optB = createOptimizer(kind, b.params);
      for (let k = 0; k < 2; k++) withGrads(k, (g) => optB.step(g, lrFn));
      const early = structuredClone(await optB.getState());
      expect(early.paramSteps).toEqual({ 'encoder.layer.0.output.dense.weight': 2, 'encoder.layer.0.output.dense.bias': 2 });
      for (let k = 2; k < 6; k++) withGrads(k, (g) => optB.step(g, lrFn));
      const state = structuredClone(await optB.getState());
      expect(state.step).toBe(6);
      expect(state.paramSteps[HEAD]).toBe(3);
      expect(state.slots.map((s) => s.name)).toHaveLength(6);
      const theta6 = Object.fromEntries(b.params.map((p) => [p.name, values(p.variable)]));
      optB.dispose();
      b.dispose();

      const c = makeParams(theta6);
      const optC = createOptimizer(kind, c.params);
      optC.setState(state);
      for (let k = 6; k < 12; k++) withGrads(k, (g) => optC.step(g, lrFn));
      for (let i = 0; i < a.params.length; i++) {
        expect(c.params[i].variable.dataSync()).toEqual(a.params[i].variable.dataSync());
      }
      // Restoring the early state (no head slots yet) onto a run at step 2 also continues identically.
      const d = makeParams(snapshot);
      const optD = createOptimizer(kind, d.params);
      optD.setState(early);
      for (let k = 2; k < 12; k++) withGrads(k, (g) => optD.step(g, lrFn));
      for (let i = 0; i < a.params.length; i++) {
        expect(d.params[i].variable.dataSync()).toEqual(a.params[i].variable.dataSync());
      }
      [optA, optC, optD].forEach((o) => o.dispose());
      [a, c, d].forEach((s) => s.dispose());
    });
  }

  it('setState rejects mismatched states with clear errors', async () => {
    const { params, dispose } = makeParams(randomInit(1));
    const opt = createOptimizer('adamax', params);
    withGrads(3, (g) => opt.step(g, 0.01));
    const state = await opt.getState();
    const other = createOptimizer('radam', params);
    expect(() => other.setState(state)).toThrow("optimizer state is for 'adamax' but this optimizer is 'radam'");
    const badShape = { ...state, slots: state.slots.map((s) => (s.name === 'heads.1.weight:exp_avg' ? { ...s, shape: [4] } : s)) };
    expect(() => opt.setState(badShape)).toThrow("optimizer state: slot 'heads.1.weight:exp_avg' has shape [4] but the parameter has shape [2,2]");
    const missing = { ...state, slots: state.slots.filter((s) => s.name !== 'heads.1.weight:exp_inf') };
    expect(() => opt.setState(missing)).toThrow("optimizer state: parameter 'heads.1.weight' has no slot 'heads.1.weight:exp_inf'");
    const unknown = { ...state, slots: [...state.slots, { ...state.slots[0], name: 'pooler.dense.weight:exp_avg' }] };
    expect(() => opt.setState(unknown)).toThrow("optimizer state: slot 'pooler.dense.weight:exp_avg' names no parameter of this optimizer");
    other.dispose();
    opt.dispose();
    dispose();
  });

  it('step rejects unknown, misshapen gradients and bad learning rates', () => {
    const { params, dispose } = makeParams(randomInit(2));
    const opt = createOptimizer('bertadam', params);
    const g = tf.zeros([5]);
    expect(() => opt.step({ 'pooler.dense.weight': g }, 0.01)).toThrow("optimizer: gradient given for unknown parameter 'pooler.dense.weight'");
    expect(() => opt.step({ 'encoder.layer.0.output.dense.bias': g }, 0.01)).toThrow(
      "optimizer: gradient for 'encoder.layer.0.output.dense.bias' has shape [5] but the parameter has shape [4]",
    );
    const ok = tf.zeros([4]);
    expect(() => opt.step({ 'encoder.layer.0.output.dense.bias': ok }, () => Number.NaN)).toThrow(
      "optimizer: learning rate for 'encoder.layer.0.output.dense.bias' at step 0 is NaN; it must be finite and >= 0",
    );
    expect(() => createOptimizer('adam', params, { weightDecay: 0.01 })).toThrow("optimizer 'adam' has no weight decay (got weightDecay 0.01); use 'adamw'");
    expect(() => createOptimizer('adamax', [...params, params[0]])).toThrow("optimizer: parameter 'encoder.layer.0.output.dense.weight' is listed twice");
    expect(() => createOptimizer('adamax', params, { beta2: 1 })).toThrow('optimizer option beta2 must be in [0, 1), got 1');
    opt.dispose();
    expect(() => opt.step({}, 0.01)).toThrow('optimizer bertadam was disposed');
    tf.dispose([g, ok]);
    dispose();
  });

  it('weight-decay groups: yml era excludes bias/LayerNorm/gamma/beta; v1 decays everything', () => {
    const names = [
      'encoder.layer.0.attention.self.query.weight',
      'encoder.layer.0.attention.self.query.bias',
      'embeddings.LayerNorm.weight',
      'embeddings.LayerNorm.bias',
      'pals.gamma',
      'pals.beta',
      'embeddings.word_embeddings.weight',
    ];
    const vars = names.map((name) => ({ name, variable: tf.tidy(() => tf.variable(tf.zeros([1]))) }));
    const yml = createOptimizer('adamax', vars);
    expect(yml.decayedParams()).toEqual(['encoder.layer.0.attention.self.query.weight', 'embeddings.word_embeddings.weight']);
    const v1 = createOptimizer('adamax', vars, { decayFilter: 'all' });
    expect(v1.decayedParams()).toEqual(names);
    const custom = createOptimizer('adamw', vars, { decayFilter: (n) => n.startsWith('embeddings.') });
    expect(custom.decayedParams()).toEqual(['embeddings.LayerNorm.weight', 'embeddings.LayerNorm.bias', 'embeddings.word_embeddings.weight']);
    // A zero gradient moves a decayed parameter (θ − lr·wd·θ) and leaves an undecayed one alone.
    const w = tf.tidy(() => tf.variable(tf.tensor([2])));
    const b = tf.tidy(() => tf.variable(tf.tensor([2])));
    const opt = createOptimizer(
      'adamax',
      [
        { name: 'x.weight', variable: w },
        { name: 'x.bias', variable: b },
      ],
      { weightDecay: 0.1 } as CommonOptimizerOptions,
    );
    const z = tf.zeros([1]);
    opt.step({ 'x.weight': z, 'x.bias': z }, 0.5);
    expect(values(w)[0]).toBeCloseTo(2 - 0.5 * 0.1 * 2, 6);
    expect(values(b)[0]).toBe(2);
    [yml, v1, custom, opt].forEach((o: SlotOptimizer) => o.dispose());
    tf.dispose([w, b, z, ...vars.map((v) => v.variable)]);
  });

  it('tf.memory().numTensors stays flat over 200 steps of every optimiser', () => {
    for (const kind of OPTIMIZER_KINDS) {
      const { params, dispose } = makeParams(randomInit(3));
      const before = tf.memory().numTensors;
      const opt = createOptimizer(kind, params);
      const counts: number[] = [];
      for (let k = 0; k < 200; k++) {
        withGrads(k % 10, (g) => opt.step(g, lrFn));
        counts.push(tf.memory().numTensors);
      }
      // Slots appear lazily (2 per parameter; the head's at step 3), then nothing grows.
      expect(counts[199]).toBe(before + 6);
      expect(new Set(counts.slice(4)).size).toBe(1);
      opt.dispose();
      expect(tf.memory().numTensors).toBe(before);
      dispose();
    }
  });

  it('clipGradients: global L2 norm as torch clip_grad_norm_, pre-clip norm returned, no leaks', async () => {
    const before = tf.memory().numTensors;
    const a = tf.tensor([3]);
    const b = tf.tensor([[4]]);
    const { grads, norm } = await clipGradients({ a, b }, 1.0);
    expect(norm).toBeCloseTo(5, 6);
    // torch (float64): 1/(5 + 1e-6) scaling → [0.599999880000024, 0.799999840000032].
    expect(values(grads.get('a')!)[0]).toBeCloseTo(0.599999880000024, 7);
    expect(values(grads.get('b')!)[0]).toBeCloseTo(0.799999840000032, 7);
    expect(grads.get('b')!.shape).toEqual([1, 1]);
    // Inputs are untouched.
    expect(values(a)).toEqual([3]);
    tf.dispose([...grads.values()]);
    // Below the threshold nothing changes (the coefficient is clamped to 1).
    const c = tf.tensor([0.3, 0.4]);
    const small = await clipGradients(new Map([['a', c]]), 1.0);
    expect(small.norm).toBeCloseTo(0.5, 6);
    expect(values(small.grads.get('a')!)).toEqual(Array.from(new Float32Array([0.3, 0.4])));
    const t = clipGradientsTensor({ a, b }, 2.5);
    expect(values(t.norm)[0]).toBeCloseTo(5, 6);
    expect(values(t.grads.get('a')!)[0]).toBeCloseTo((3 * 2.5) / (5 + 1e-6), 6);
    tf.dispose([t.norm, ...t.grads.values(), ...small.grads.values(), a, b, c]);
    expect(tf.memory().numTensors).toBe(before);
    await expect(clipGradients({}, 1)).rejects.toThrow('clipGradients: no gradients given');
    expect(() => clipGradientsTensor({ a }, 0)).toThrow('clipGradients: maxNorm must be a positive finite number, got 0');
  });
});
