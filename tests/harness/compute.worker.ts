import * as tf from '@tensorflow/tfjs';
import * as Comlink from 'comlink';
import { countWebGPUWork, type WebGPUCounts } from '../../workers/webgpuCounters.ts';
import { fusedChecks } from './fusedChecks.ts';
import { setupBrowserBackend, type BackendReport, type BackendRequest, type SetupOptions } from '../../workers/browserBackend.ts';
import { BertEncoder } from '../../src/engine/model/bertEncoder.ts';
import { loadBertCheckpoint } from '../../src/engine/checkpoint/hfFolder.ts';
import { urlSource } from '../../src/engine/checkpoint/modelSource.ts';
import { parseExperiment } from '../../src/engine/experiment/experimentSchema.ts';
import { Rng } from '../../src/engine/runtime/rng.ts';
import { memorySplit } from '../../src/engine/train/memorySplit.ts';
import { buildEncoder, buildMultiTaskModel } from '../../src/engine/model/modelFactory.ts';
import { Trainer } from '../../src/engine/train/trainer.ts';

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

  ...fusedChecks,

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
