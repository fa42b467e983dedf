import * as tf from '@tensorflow/tfjs';
import * as Comlink from 'comlink';
import { setupBrowserBackend, type BackendReport, type BackendRequest, type SetupOptions } from '../../workers/browserBackend.ts';
import { BertEncoder } from '../../src/engine/model/bertEncoder.ts';
import { loadBertCheckpoint } from '../../src/engine/checkpoint/hfFolder.ts';
import { urlSource } from '../../src/engine/checkpoint/modelSource.ts';
import { parseExperiment } from '../../src/engine/experiment/experimentSchema.ts';
import { Rng } from '../../src/engine/runtime/rng.ts';
import { memorySplit } from '../../src/engine/train/memorySplit.ts';
import { buildEncoder, buildMultiTaskModel } from '../../src/engine/train/modelFactory.ts';
import { Trainer } from '../../src/engine/train/trainer.ts';

/**
 * Test and bench worker: a module worker like the app's own (same backend setup), running the encoder on a
 * fixture checkpoint and timing forward passes and training steps. One worker per backend configuration,
 * since a wasm thread count is fixed when the module initialises.
 */

const encoders = new Map<string, Promise<BertEncoder>>();

function encoder(fixture: string): Promise<BertEncoder> {
  if (!encoders.has(fixture)) {
    encoders.set(fixture, (async () => {
      const ckpt = await loadBertCheckpoint(urlSource(new URL(`/mirror/fixtures/${fixture}`, location.href).href));
      return BertEncoder.fromCheckpoint(ckpt);
    })());
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

export interface TrainShape { layers: number; hidden: number; heads: number; intermediate: number; batch: number; seq: number }

const api = {
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
    const exp = parseExperiment({
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
    }, 'compute bench');
    const model = buildMultiTaskModel(exp, buildEncoder(exp, { vocabSize: 30522 }));
    const rng = new Rng('compute-train');
    const rows = randomIds(s.batch * (warmup + reps), s.seq, 'compute-train').map((ids, i) => ({ ids, label: rng.int(2), uid: String(i) }));
    const trainer = new Trainer({ experiment: exp, model, data: { 'SST-2': { train: memorySplit('SST-2', 'train', rows) } } });
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
};

export type ComputeApi = typeof api;
Comlink.expose(api);
