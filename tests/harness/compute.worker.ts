import * as tf from '@tensorflow/tfjs';
import * as Comlink from 'comlink';
import { countWebGPUWork, type WebGPUCounts } from '../../workers/webgpuCounters.ts';
import { registerWebGPUKernels, unregisterWebGPUKernels } from '../../workers/webgpuKernels.ts';
import { activation, dropout, layerNorm } from '../../src/engine/model/ops.ts';
import { attentionProbs } from '../../src/engine/model/kernels/attentionSoftmax.ts';
import { setupBrowserBackend, type BackendReport, type BackendRequest, type SetupOptions } from '../../workers/browserBackend.ts';
import { BertEncoder } from '../../src/engine/model/bertEncoder.ts';
import { loadBertCheckpoint } from '../../src/engine/checkpoint/hfFolder.ts';
import { urlSource } from '../../src/engine/checkpoint/modelSource.ts';
import { parseExperiment } from '../../src/engine/experiment/experimentSchema.ts';
import { Rng } from '../../src/engine/runtime/rng.ts';
import { memorySplit } from '../../src/engine/train/memorySplit.ts';
import { buildEncoder, buildMultiTaskModel } from '../../src/engine/model/modelFactory.ts';
import { Trainer } from '../../src/engine/train/trainer.ts';
import { createOptimizer } from '../../src/engine/train/optim/index.ts';

/**
 * Test and bench worker: a module worker like the app's own (same backend setup), running the encoder on a
 * fixture checkpoint and timing forward passes and training steps. One worker per backend configuration,
 * since a wasm thread count is fixed when the module initialises.
 */

const encoders = new Map<string, Promise<BertEncoder>>();

function encoder(fixture: string): Promise<BertEncoder> {
  if (!encoders.has(fixture)) {
    encoders.set(
      fixture,
      (async () => {
        const ckpt = await loadBertCheckpoint(urlSource(new URL(`/mirror/fixtures/${fixture}`, location.href).href));
        return BertEncoder.fromCheckpoint(ckpt);
      })(),
    );
  }
  return encoders.get(fixture)!;
}

/** [CLS] w… [SEP] rows of random word ids (seeded), no padding. */
export function randomIds(batch: number, seq: number, seed: string): number[][] {
  const rng = new Rng(seed);
  return Array.from({ length: batch }, () => [101, ...Array.from({ length: seq - 2 }, () => 1000 + rng.int(29000)), 102]);
}

function inputs(ids: number[][]) {
  const B = ids.length;
  const T = ids[0]!.length;
  return {
    inputIds: tf.tensor2d(ids, [B, T], 'int32'),
    tokenTypeIds: tf.zeros([B, T], 'int32') as tf.Tensor2D,
    attentionMask: tf.ones([B, T], 'int32') as tf.Tensor2D,
  };
}

async function timed(warmup: number, reps: number, once: () => Promise<void>): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await once();
  const ms: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t = performance.now();
    await once();
    ms.push(performance.now() - t);
  }
  return ms;
}

type Ort = typeof import('onnxruntime-web');
let ort: { lib: Ort; session: import('onnxruntime-web').InferenceSession } | undefined;

/**
 * onnxruntime-web (wasm) as a peer: loaded from its dist folder by URL, bypassing Vite's dependency
 * pre-bundler, with its own pthread pool of `threads`.
 */
async function ortSession(): Promise<NonNullable<typeof ort>> {
  if (!ort) throw new Error('ortInit first');
  return ort;
}

function ortFeeds(lib: Ort, ids: number[][]) {
  const B = ids.length;
  const T = ids[0]!.length;
  const flat = BigInt64Array.from(ids.flat(), (x) => BigInt(x));
  return {
    input_ids: new lib.Tensor('int64', flat, [B, T]),
    token_type_ids: new lib.Tensor('int64', new BigInt64Array(B * T), [B, T]),
    attention_mask: new lib.Tensor('int64', new BigInt64Array(B * T).fill(1n), [B, T]),
  };
}

export interface TrainShape {
  layers: number;
  hidden: number;
  heads: number;
  intermediate: number;
  batch: number;
  seq: number;
}

const api = {
  async ortInit(modelUrl: string, threads: number): Promise<{ version: string; threads: number; crossOriginIsolated: boolean }> {
    const dist = new URL('/node_modules/onnxruntime-web/dist/', location.href).href;
    const lib = (await import(/* @vite-ignore */ `${dist}ort.wasm.min.mjs`)) as Ort;
    lib.env.wasm.wasmPaths = dist;
    lib.env.wasm.numThreads = threads;
    lib.env.wasm.proxy = false;
    const bytes = new Uint8Array(await (await fetch(modelUrl)).arrayBuffer());
    const session = await lib.InferenceSession.create(bytes, { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
    ort = { lib, session };
    return { version: lib.env.versions.web ?? '?', threads: lib.env.wasm.numThreads ?? threads, crossOriginIsolated: self.crossOriginIsolated };
  },

  async ortForward(batch: number, seq: number, seed = 'compute'): Promise<{ last: Float32Array }> {
    const { lib, session } = await ortSession();
    const out = await session.run(ortFeeds(lib, randomIds(batch, seq, seed)));
    return { last: out.last_hidden_state!.data as Float32Array };
  },

  async ortTimeForward(batch: number, seq: number, warmup: number, reps: number): Promise<number[]> {
    const { lib, session } = await ortSession();
    const feeds = ortFeeds(lib, randomIds(batch, seq, 'time-forward'));
    return timed(warmup, reps, async () => {
      const out = await session.run(feeds);
      out.last_hidden_state!.dispose();
    });
  },

  init(request: BackendRequest, opts: SetupOptions = {}): Promise<BackendReport> {
    return setupBrowserBackend(request, opts);
  },

  /** The last hidden state of the fixture encoder on seeded ids, flattened, plus the tensor counts around it. */
  async forward(fixture: string, batch: number, seq: number, seed = 'compute'): Promise<{ last: Float32Array; tensorsBefore: number; tensorsAfter: number }> {
    const model = await encoder(fixture);
    const tensorsBefore = tf.memory().numTensors;
    const x = inputs(randomIds(batch, seq, seed));
    const out = tf.tidy(() => model.forward(x).lastHiddenState);
    const last = (await out.data()) as Float32Array;
    tf.dispose([out, x.inputIds, x.tokenTypeIds, x.attentionMask]);
    return { last, tensorsBefore, tensorsAfter: tf.memory().numTensors };
  },

  async timeForward(fixture: string, batch: number, seq: number, warmup: number, reps: number): Promise<number[]> {
    const model = await encoder(fixture);
    const x = inputs(randomIds(batch, seq, 'time-forward'));
    try {
      return await timed(warmup, reps, async () => {
        const out = tf.tidy(() => model.forward(x).lastHiddenState);
        await out.data();
        out.dispose();
      });
    } finally {
      tf.dispose([x.inputIds, x.tokenTypeIds, x.attentionMask]);
    }
  },

  /** Steps of the engine's Trainer (AdamW, clip 1, dropout 0.1) on a random-init encoder of `s`. */
  async timeTrain(s: TrainShape, warmup: number, reps: number): Promise<{ ms: number[]; leaked: number }> {
    const before = tf.memory().numTensors;
    const { trainer, model } = trainerFor(s, warmup + reps);
    try {
      const ms = await timed(warmup, reps, async () => {
        await trainer.trainStep();
      });
      trainer.dispose();
      model.dispose();
      return { ms, leaked: tf.memory().numTensors - before };
    } catch (e) {
      trainer.dispose();
      model.dispose();
      throw e;
    }
  },

  /** Switches the fused webgpu kernels on or off for this worker (ops.ts then takes the fused or the generic path). */
  setFused(on: boolean): void {
    if (on) registerWebGPUKernels();
    else unregisterWebGPUKernels();
  },

  /**
   * LayerNorm and GELU, values and gradients, through ops.ts with the fused kernels and without, on the
   * same random inputs; returns the largest absolute differences and the tensor counts around the check.
   */
  async fusedVsGeneric(rows: number, H: number): Promise<{ diffs: Record<string, number>; tensorsBefore: number; tensorsAfter: number }> {
    const tensorsBefore = tf.memory().numTensors;
    const x = tf.randomNormal([rows, H], 0.3, 2, 'float32', 11);
    const w = tf.randomNormal([rows, H], 0, 1, 'float32', 12);
    const gamma = tf.randomNormal([H], 1, 0.2, 'float32', 13) as tf.Tensor1D;
    const beta = tf.randomNormal([H], 0, 0.2, 'float32', 14) as tf.Tensor1D;
    const pass = async () => {
      const ln = tf.grads((a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(layerNorm(a, g as tf.Tensor1D, b as tf.Tensor1D, 1e-12), w)));
      const ge = tf.grads((a: tf.Tensor) => tf.sum(tf.mul(activation(a, 'gelu'), w)));
      const out = tf.tidy(() => ({
        ln: layerNorm(x, gamma, beta, 1e-12),
        lnGrads: ln([x, gamma, beta]),
        gelu: activation(x, 'gelu'),
        geluGrad: ge([x])[0]!,
      }));
      const read = async (t: tf.Tensor) => (await t.data()) as Float32Array;
      const res = {
        ln: await read(out.ln),
        dx: await read(out.lnGrads[0]!),
        dgamma: await read(out.lnGrads[1]!),
        dbeta: await read(out.lnGrads[2]!),
        gelu: await read(out.gelu),
        dgelu: await read(out.geluGrad),
      };
      tf.dispose([out.ln, ...out.lnGrads, out.gelu, out.geluGrad]);
      return res;
    };
    const { diffs } = await fusedAgainstGeneric(pass);
    tf.dispose([x, w, gamma, beta]);
    return { diffs, tensorsBefore, tensorsAfter: tf.memory().numTensors };
  },

  /**
   * Per-kernel time (tf.profile's kernelMs, summed by kernel name) of `reps` forward passes of the fixture
   * encoder ('forward') or `reps` train steps of `s` ('train'), after one warm-up; per pass or step.
   */
  async profileKernels(
    what: 'forward' | 'train',
    fixture: string,
    s: TrainShape,
    reps: number,
  ): Promise<{ wallMs: number; kernels: Record<string, { ms: number; calls: number }> }> {
    const backend = tf.getBackend();
    const kernels: Record<string, { ms: number; calls: number }> = {};
    let once: () => Promise<void>;
    let done: () => void;
    if (what === 'forward') {
      const model = await encoder(fixture);
      const x = inputs(randomIds(s.batch, s.seq, 'profile'));
      once = async () => {
        const out = tf.tidy(() => model.forward(x).lastHiddenState);
        await out.data();
        out.dispose();
      };
      done = () => tf.dispose([x.inputIds, x.tokenTypeIds, x.attentionMask]);
    } else {
      const t = trainerFor(s, reps + 1);
      once = () => t.trainer.trainStep().then(() => undefined);
      done = () => {
        t.trainer.dispose();
        t.model.dispose();
      };
    }
    let wallMs = 0;
    try {
      await once();
      for (let i = 0; i < reps; i++) {
        const t0 = performance.now();
        const prof = await tf.profile(async () => {
          await once();
          return [];
        });
        wallMs += performance.now() - t0;
        for (const k of prof.kernels) {
          // A tf.customGrad op is profiled as one more entry wrapping its own kernels: count only real kernels.
          if (!tf.getKernel(k.name, backend)) continue;
          const e = (kernels[k.name] ??= { ms: 0, calls: 0 });
          e.ms += (k.kernelTimeMs as number) / reps;
          e.calls += 1 / reps;
        }
      }
    } finally {
      done();
    }
    return { wallMs: wallMs / reps, kernels };
  },

  /**
   * Three steps of `kind` ('adam' or 'adamw', lr 1e-2 falling) on a decayed [64, 48] weight and an undecayed
   * [48] bias, with the fused Adam kernel and without: |Δ| / max|generic| of the parameters and both moments.
   */
  async adamVsGeneric(kind: 'adam' | 'adamw'): Promise<{ relative: Record<string, number>; tensorsBefore: number; tensorsAfter: number }> {
    const tensorsBefore = tf.memory().numTensors;
    const pass = async () => {
      // Inside tidy the initial tensor is freed while the variable keeps its data.
      const w = tf.tidy(() => tf.variable(tf.randomNormal([64, 48], 0, 1, 'float32', 41)));
      const b = tf.tidy(() => tf.variable(tf.randomNormal([48], 0, 1, 'float32', 42)));
      const opt = createOptimizer(kind, [
        { name: 'layer.weight', variable: w },
        { name: 'layer.bias', variable: b },
      ]);
      for (let step = 0; step < 3; step++) {
        const grads = {
          'layer.weight': tf.randomNormal([64, 48], 0, 0.1, 'float32', 50 + step),
          'layer.bias': tf.randomNormal([48], 0, 0.1, 'float32', 60 + step),
        };
        opt.step(grads, (t) => 1e-2 / (1 + t));
        tf.dispose(Object.values(grads));
      }
      const state = await opt.getState();
      const out: Record<string, Float32Array> = { weight: (await w.data()) as Float32Array, bias: (await b.data()) as Float32Array };
      for (const sl of state.slots) out[sl.name] = sl.data as Float32Array;
      opt.dispose();
      tf.dispose([w, b]);
      return out;
    };
    const { relative } = await fusedAgainstGeneric(pass);
    return { relative, tensorsBefore, tensorsAfter: tf.memory().numTensors };
  },

  /** ops.ts dropout (rate 0.1, seed 7) and its gradient, with the fused kernel and without; largest |Δ| per output. */
  async dropoutVsGeneric(shape: number[]): Promise<{ diffs: Record<string, number>; zeroed: number; tensorsBefore: number; tensorsAfter: number }> {
    const tensorsBefore = tf.memory().numTensors;
    const x = tf.randomNormal(shape, 0, 1, 'float32', 31);
    const w = tf.randomNormal(shape, 0, 1, 'float32', 32);
    const pass = async () => {
      const f = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(dropout(a, 0.1, true, 7), w)));
      const out = tf.tidy(() => [dropout(x, 0.1, true, 7), f(x)]);
      const [y, dx] = (await Promise.all(out.map((t) => t.data()))) as Float32Array[];
      tf.dispose(out);
      return { y: y!, dx: dx! };
    };
    const r = await fusedAgainstGeneric(pass);
    const y = (await pass()).y;
    tf.dispose([x, w]);
    return { diffs: r.diffs, zeroed: y.filter((v) => v === 0).length / y.length, tensorsBefore, tensorsAfter: tf.memory().numTensors };
  },

  /**
   * attentionProbs (softmax(q·kᵀ/√d + bias)) and its gradients in q, k and the bias, with the fused kernel and
   * without, on random inputs whose second batch row masks its last 3 keys; largest |Δ| and |Δ| / max|generic|.
   */
  async attentionVsGeneric(
    B: number,
    A: number,
    T: number,
    d: number,
  ): Promise<{ diffs: Record<string, number>; relative: Record<string, number>; tensorsBefore: number; tensorsAfter: number }> {
    const tensorsBefore = tf.memory().numTensors;
    const q = tf.randomNormal([B * A, T, d], 0, 1.5, 'float32', 21) as tf.Tensor3D;
    const k = tf.randomNormal([B * A, T, d], 0, 1.5, 'float32', 22) as tf.Tensor3D;
    const w = tf.randomNormal([B, A, T, T], 0, 1, 'float32', 23);
    const keep = Array.from({ length: B * T }, (_, i) => (i >= T && i % T >= T - 3 ? 0 : 1));
    const bias = tf.tensor4d(
      keep.map((m) => (1 - m) * -10000),
      [B, 1, 1, T],
    );
    const pass = async () => {
      const f = tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) =>
        tf.sum(tf.mul(attentionProbs(a as tf.Tensor3D, b as tf.Tensor3D, c as tf.Tensor4D, A), w)),
      );
      const out = tf.tidy(() => ({ probs: attentionProbs(q, k, bias, A), grads: f([q, k, bias]) }));
      const [probs, dq, dk, dbias] = (await Promise.all([out.probs, ...out.grads].map((t) => t.data()))) as Float32Array[];
      tf.dispose([out.probs, ...out.grads]);
      return { probs: probs!, dq: dq!, dk: dk!, dbias: dbias! };
    };
    const r = await fusedAgainstGeneric(pass);
    tf.dispose([q, k, w, bias]);
    return { ...r, tensorsBefore, tensorsAfter: tf.memory().numTensors };
  },

  /** WebGPU dispatches and uploads of one forward pass and of one train step (after a warm-up step). */
  async countWebGPU(fixture: string, s: TrainShape): Promise<{ forward: WebGPUCounts; trainStep: WebGPUCounts }> {
    const model = await encoder(fixture);
    const x = inputs(randomIds(s.batch, s.seq, 'count'));
    const forward = (
      await countWebGPUWork(async () => {
        const out = tf.tidy(() => model.forward(x).lastHiddenState);
        await out.data();
        out.dispose();
      })
    ).counts;
    tf.dispose([x.inputIds, x.tokenTypeIds, x.attentionMask]);
    const t = trainerFor(s, 2);
    try {
      await t.trainer.trainStep();
      const trainStep = (await countWebGPUWork(() => t.trainer.trainStep())).counts;
      return { forward, trainStep };
    } finally {
      t.trainer.dispose();
      t.model.dispose();
    }
  },
};

/** Runs `pass` with the fused webgpu kernels and without; largest |Δ| per output and |Δ| relative to max|generic|. */
async function fusedAgainstGeneric<K extends string>(pass: () => Promise<Record<K, Float32Array>>) {
  registerWebGPUKernels();
  const fused = await pass();
  unregisterWebGPUKernels();
  const generic = await pass();
  registerWebGPUKernels();
  const diffs = {} as Record<K, number>;
  const relative = {} as Record<K, number>;
  for (const k of Object.keys(fused) as K[]) {
    let d = 0;
    let scale = 0;
    for (let i = 0; i < fused[k].length; i++) {
      d = Math.max(d, Math.abs(fused[k][i]! - generic[k][i]!));
      scale = Math.max(scale, Math.abs(generic[k][i]!));
    }
    diffs[k] = d;
    relative[k] = scale > 0 ? d / scale : d;
  }
  return { diffs, relative };
}

/** A Trainer on a random-init encoder of `s` with data for `steps` full batches. */
function trainerFor(s: TrainShape, steps: number) {
  const exp = parseExperiment(
    {
      name: 'compute-bench',
      tasks: [{ name: 'SST-2' }],
      model: { kind: 'random', layers: s.layers, hidden: s.hidden, heads: s.heads, intermediate: s.intermediate, vocab: 'bert-base-uncased' },
      data: { kind: 'synthetic' },
      optimizer: { kind: 'adamw', lr: 5e-4 },
      batchSize: s.batch,
      maxLength: s.seq,
      epochs: 1,
      globalClip: 1,
      seed: 1,
    },
    'compute bench',
  );
  const model = buildMultiTaskModel(exp, buildEncoder(exp, { vocabSize: 30522 }));
  const rng = new Rng('compute-train');
  const rows = randomIds(s.batch * steps, s.seq, 'compute-train').map((ids, i) => ({ ids, label: rng.int(2), uid: String(i) }));
  const trainer = new Trainer({ experiment: exp, model, data: { 'SST-2': { train: memorySplit('SST-2', 'train', rows) } } });
  return { trainer, model };
}

export type ComputeApi = typeof api;
Comlink.expose(api);
