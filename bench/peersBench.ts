/**
 * Taskscope (tfjs-wasm in Node, one thread: tfjs disables wasm threads in Node) against the peers a user would
 * pick instead, on the same weights (the BERT-Tiny-shaped fixture bert-tiny-arch-random, L2 H128 A2 I512,
 * vocab 30522):
 *   - onnxruntime-node (CPU execution provider) at 1 and 2 intra-op threads, on an ONNX export of the fixture
 *     made at bench time by PyTorch (torch.onnx) into .cache/bench/ (never committed);
 *   - PyTorch CPU at 1 and 2 threads. Debian's python3-torch calls whatever libblas.so.3 is installed: the
 *     reference BLAS makes it ~10× slower than a stock wheel, so the bench requires libopenblas0-pthread,
 *     prints the BLAS library torch has loaded and torch's own 1024³ matmul GFLOP/s.
 * First the outputs of all three are checked on one batch (with padding) to agree within 1e-4; then forward
 * (batch 32 × 128 and batch 1 × 128) and the train step (bench/trainBench.ts's step, L2 H128 b16 at seq 128
 * and 256) are timed round by round, interleaved. Ratios: tokens/s over tfjs-wasm's; the train step as a
 * fraction of tfjs-wasm's own 1024³ matmul FLOP/s; train step / forward at b16×s128; s256 / s128.
 *
 *   npm run bench -- peers
 *   npx tsx bench/peersBench.ts [--rounds 2] [--reps 3]
 */
import * as tf from '@tensorflow/tfjs';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import { initNodeBackend } from '../src/cli/nodeBackend.ts';
import { dirSource } from '../src/engine/platform/node/nodeSource.ts';
import { loadBertCheckpoint } from '../src/engine/checkpoint/hfFolder.ts';
import type { BertCheckpoint } from '../src/engine/checkpoint/types.ts';
import { BertEncoder } from '../src/engine/model/bertEncoder.ts';
import { Rng } from '../src/engine/runtime/rng.ts';
import { fmt, median } from './stats.ts';
import { TORCH_PYTHON, TorchPeer, torchConfig } from './torchPeer.ts';
import { timeTfjsMatmul, timeTfjsTrain, VOCAB, type NamedShape } from './trainBench.ts';
import { trainStepFlops } from './trainFlops.ts';
import { fixtureModelDir } from '../tests/helpers/shared.ts';

/**
 * Train steps before timing, for both trainers: tfjs-wasm's first steps grow its heap, and a kernel whose output
 * lands in fresh memory pays for first touching it (the 30,522 × H embedding gradient: ~100 ms in steps 1–3,
 * ~1 ms from step 4 on; `npm run bench -- profile`).
 */
const TRAIN_WARMUP = 4;

const MODEL_DIR = fixtureModelDir('bert-tiny-arch-random');
const WEIGHTS = resolve(MODEL_DIR, 'model.safetensors');
const ONNX_FILE = resolve(import.meta.dirname, '../.cache/bench/bert-tiny-arch-random.onnx');
const CHECK_TOL = 1e-4;
const MATMUL_N = 1024;

const FORWARD_SHAPES = [
  { batch: 32, seq: 128 },
  { batch: 1, seq: 128 },
];
/** tfjs only: the denominator of train step / forward (same shape as the train step). */
const RATIO_FORWARD = { batch: 16, seq: 128 };
const trainShape = (seq: number): NamedShape => ({
  name: `L2 H128 A2 I512, b16×s${seq}`,
  layers: 2,
  hidden: 128,
  heads: 2,
  intermediate: 512,
  batch: 16,
  seq,
  classes: 2,
  onCpu: false,
});
const TRAIN_SHAPES = [trainShape(128), trainShape(256)];

interface Inputs {
  ids: number[][];
  types: number[][];
  mask: number[][];
}

function randomInputs(batch: number, seq: number, vocab: number, seed: string, padLastRow = false): Inputs {
  const rng = new Rng(seed);
  const ids = Array.from({ length: batch }, () => [101, ...Array.from({ length: seq - 2 }, () => 1000 + rng.int(vocab - 1000)), 102]);
  const mask = ids.map((row, b) => row.map((_, t) => (padLastRow && b === batch - 1 && t >= seq / 2 ? 0 : 1)));
  const types = ids.map((row) => row.map((_, t) => (t >= seq / 2 ? 1 : 0)));
  return { ids: ids.map((row, b) => row.map((x, t) => (mask[b][t] ? x : 0))), types, mask };
}

function tfjsOutputs(model: BertEncoder, x: Inputs) {
  return tf.tidy(() => {
    const out = model.forward({
      inputIds: tf.tensor2d(x.ids, undefined, 'int32'),
      tokenTypeIds: tf.tensor2d(x.types, undefined, 'int32'),
      attentionMask: tf.tensor2d(x.mask, undefined, 'int32'),
    });
    return { hidden: out.lastHiddenState.dataSync() as Float32Array, pooled: out.pooled.dataSync() as Float32Array };
  });
}

function ortFeeds(x: Inputs): Record<string, ort.Tensor> {
  const B = x.ids.length,
    T = x.ids[0].length;
  const t = (rows: number[][]) =>
    new ort.Tensor(
      'int64',
      BigInt64Array.from(rows.flat(), (v) => BigInt(v)),
      [B, T],
    );
  return { input_ids: t(x.ids), token_type_ids: t(x.types), attention_mask: t(x.mask) };
}

const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};

async function timeTfjsForward(ckpt: BertCheckpoint, x: Inputs, reps: number): Promise<number[]> {
  await initNodeBackend('wasm');
  const model = BertEncoder.fromCheckpoint(ckpt);
  const ids = tf.tensor2d(x.ids, undefined, 'int32'),
    types = tf.tensor2d(x.types, undefined, 'int32'),
    mask = tf.tensor2d(x.mask, undefined, 'int32');
  const once = async () => {
    const p = tf.tidy(() => model.forward({ inputIds: ids, tokenTypeIds: types, attentionMask: mask }).pooled);
    await p.data();
    p.dispose();
  };
  const ms: number[] = [];
  try {
    await once();
    for (let i = 0; i < reps; i++) {
      const t = performance.now();
      await once();
      ms.push(performance.now() - t);
    }
  } finally {
    tf.dispose([ids, types, mask]);
    model.dispose();
  }
  return ms;
}

async function timeOrt(session: ort.InferenceSession, x: Inputs, reps: number): Promise<number[]> {
  const feeds = ortFeeds(x);
  await session.run(feeds);
  const ms: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t = performance.now();
    await session.run(feeds);
    ms.push(performance.now() - t);
  }
  return ms;
}

/** Debian's libopenblas0-pthread: without it python3-torch runs the reference BLAS. */
function openblasInstalled(): boolean {
  const r = spawnSync('dpkg-query', ['-W', '-f=${Status}', 'libopenblas0-pthread'], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.includes('install ok installed');
}

export interface PeersOptions {
  rounds: number;
  reps: number;
}

export async function runPeersBench(o: PeersOptions) {
  const notes: string[] = [];
  const ckpt = await loadBertCheckpoint(dirSource(MODEL_DIR));
  const config = JSON.parse(readFileSync(resolve(MODEL_DIR, 'config.json'), 'utf8'));
  if (!TorchPeer.available())
    throw new Error(`peers bench: ${TORCH_PYTHON} cannot import torch (apt-get install python3-torch, or set TASKSCOPE_TORCH_PYTHON)`);
  if (!openblasInstalled()) {
    throw new Error(
      'peers bench: libopenblas0-pthread is not installed, so python3-torch would run the reference BLAS (~10× slower than a stock PyTorch): apt-get install -y libopenblas0-pthread',
    );
  }
  const torch = TorchPeer.start();
  try {
    const info = await torch.request({ op: 'info' });
    const torchDesc = `PyTorch ${info.torch}, BLAS loaded: ${info.blas_loaded}`;
    if (!/openblas/i.test(info.blas_loaded ?? ''))
      notes.push(`WARNING: torch has not loaded OpenBLAS (${info.blas_loaded}): its figures are a reference-BLAS peer.`);

    // The ONNX peer's model, exported from the same safetensors weights.
    if (!existsSync(ONNX_FILE)) {
      mkdirSync(resolve(ONNX_FILE, '..'), { recursive: true });
      await torch.request({ op: 'export_onnx', config, weights: WEIGHTS, path: ONNX_FILE });
    }
    const sessions = new Map<number, ort.InferenceSession>();
    for (const threads of [1, 2]) {
      sessions.set(
        threads,
        await ort.InferenceSession.create(ONNX_FILE, {
          intraOpNumThreads: threads,
          interOpNumThreads: 1,
          executionMode: 'sequential',
          graphOptimizationLevel: 'all',
        }),
      );
    }

    // Same function first: tfjs vs ONNX Runtime vs PyTorch on one padded batch.
    const check = randomInputs(4, 128, config.vocab_size, 'peers/check', true);
    await initNodeBackend('wasm');
    const model = BertEncoder.fromCheckpoint(ckpt);
    const ourOut = tfjsOutputs(model, check);
    model.dispose();
    const ortOut = await sessions.get(1)!.run(ortFeeds(check));
    const th = await torch.request({ op: 'outputs', config, weights: WEIGHTS, ...check });
    const agreement = {
      'onnxruntime-node': {
        hidden: maxAbsDiff(ourOut.hidden, ortOut.last_hidden_state.data as Float32Array),
        pooled: maxAbsDiff(ourOut.pooled, ortOut.pooler_output.data as Float32Array),
      },
      pytorch: { hidden: maxAbsDiff(ourOut.hidden, th.last_hidden_state!), pooled: maxAbsDiff(ourOut.pooled, th.pooled!) },
    };
    for (const [peer, d] of Object.entries(agreement)) {
      if (!(d.hidden <= CHECK_TOL && d.pooled <= CHECK_TOL)) {
        throw new Error(
          `peers bench: ${peer} disagrees with Taskscope on the same weights: max |diff| last hidden ${d.hidden}, pooled ${d.pooled} (limit ${CHECK_TOL})`,
        );
      }
    }
    process.stderr.write(`outputs agree: ${JSON.stringify(agreement)}\n`);

    const samples = new Map<string, number[]>();
    const push = (k: string, xs: number[]) => samples.set(k, [...(samples.get(k) ?? []), ...xs]);
    const fwdInputs = FORWARD_SHAPES.map((s) => ({ ...s, x: randomInputs(s.batch, s.seq, config.vocab_size, `peers/${s.batch}x${s.seq}`) }));
    const ratioInputs = randomInputs(RATIO_FORWARD.batch, RATIO_FORWARD.seq, config.vocab_size, 'peers/ratio');
    const fwdKey = (peer: string, s: { batch: number; seq: number }) => `forward|${peer}|b${s.batch}×s${s.seq}`;
    for (let r = 0; r < o.rounds; r++) {
      for (const s of fwdInputs) {
        const reps = s.batch === 1 ? 4 * o.reps : o.reps;
        push(fwdKey('taskscope tfjs-wasm 1T', s), await timeTfjsForward(ckpt, s.x, reps));
        for (const threads of [1, 2]) push(fwdKey(`onnxruntime-node ${threads}T`, s), await timeOrt(sessions.get(threads)!, s.x, reps));
        for (const threads of [1, 2]) {
          const a = await torch.request({ op: 'forward', config, weights: WEIGHTS, batch: s.batch, seq: s.seq, reps, warmup: 1, threads });
          push(fwdKey(`pytorch-openblas ${a.threads}T`, s), a.ms);
        }
      }
      push(fwdKey('taskscope tfjs-wasm 1T', RATIO_FORWARD), await timeTfjsForward(ckpt, ratioInputs, o.reps));
      for (const s of TRAIN_SHAPES) {
        const t = await timeTfjsTrain('wasm', s, TRAIN_WARMUP, o.reps, 'adamw');
        if (t.leaked) notes.push(`WARNING: the tfjs trainer left ${t.leaked} tensors behind.`);
        push(`train|taskscope tfjs-wasm 1T|${s.name}`, t.ms);
        for (const threads of [1, 2]) {
          const a = await torch.request({
            op: 'train',
            config: torchConfig(s, { vocab: VOCAB }),
            batch: s.batch,
            seq: s.seq,
            reps: o.reps,
            warmup: TRAIN_WARMUP,
            threads,
            optimizer: 'adamw',
            weight_decay: 0.01,
            global_clip: 1,
            labels: s.classes,
          });
          push(`train|pytorch-openblas ${a.threads}T|${s.name}`, a.ms);
        }
      }
      push(`matmul|taskscope tfjs-wasm 1T|${MATMUL_N}³`, await timeTfjsMatmul('wasm', MATMUL_N, 1, o.reps));
      for (const threads of [1, 2]) {
        const a = await torch.request({ op: 'matmul', n: MATMUL_N, reps: o.reps, warmup: 1, threads });
        push(`matmul|pytorch-openblas ${a.threads}T|${MATMUL_N}³`, a.ms);
      }
      process.stderr.write(`round ${r + 1}/${o.rounds} done\n`);
    }
    for (const s of sessions.values()) await s.release();

    const rows = [...samples].map(([key, ms]) => {
      const [kind, peer, shape] = key.split('|');
      return { kind, peer, shape, n: ms.length, medianMs: median(ms) };
    });
    const ms = (kind: string, peer: string, shape: string) => rows.find((r) => r.kind === kind && r.peer === peer && r.shape === shape)?.medianMs ?? NaN;
    const ours = 'taskscope tfjs-wasm 1T';
    const peak = (peer: string) => (2 * MATMUL_N ** 3) / (ms('matmul', peer, `${MATMUL_N}³`) / 1000) / 1e9;
    const trainGflops = (s: NamedShape) => trainStepFlops(s) / (ms('train', ours, s.name) / 1000) / 1e9;
    const ratios = {
      trainFractionOfMatmulPeak: trainGflops(TRAIN_SHAPES[0]) / peak(ours),
      trainFractionOfMatmulPeakS256: trainGflops(TRAIN_SHAPES[1]) / peak(ours),
      trainOverForward: ms('train', ours, TRAIN_SHAPES[0].name) / ms('forward', ours, `b${RATIO_FORWARD.batch}×s${RATIO_FORWARD.seq}`),
      s256OverS128: ms('train', ours, TRAIN_SHAPES[1].name) / ms('train', ours, TRAIN_SHAPES[0].name),
      s256OverS128Flops: trainStepFlops(TRAIN_SHAPES[1]) / trainStepFlops(TRAIN_SHAPES[0]),
      tfjsMatmulGflops: peak(ours),
      torchMatmulGflops1T: peak('pytorch-openblas 1T'),
      torchMatmulGflops2T: peak('pytorch-openblas 2T'),
    };
    return {
      bench: 'node-peers',
      model: 'bert-tiny-arch-random (L2 H128 A2 I512, vocab 30522)',
      options: o,
      node: process.version,
      cpus: cpus().length,
      onnxruntime: `onnxruntime-node ${ort.env.versions.node ?? ''} (CPU EP, intra-op threads as stated, sequential)`,
      torch: torchDesc,
      agreement,
      rows,
      ratios,
      notes,
      date: new Date().toISOString(),
    };
  } finally {
    torch.close();
  }
}

export type PeersResult = Awaited<ReturnType<typeof runPeersBench>>;

export function peersMarkdown(res: PeersResult): string {
  const ours = 'taskscope tfjs-wasm 1T';
  const table = (kind: string, unit: (shape: string) => number, unitName: string) => {
    const rows = res.rows.filter((r) => r.kind === kind);
    const base = (shape: string) => rows.find((r) => r.peer === ours && r.shape === shape)?.medianMs ?? NaN;
    return [
      `| ${kind} | shape | median ms (n) | ${unitName} | Taskscope's speed as a fraction of this peer's |`,
      '|---|---|---:|---:|---:|',
      ...rows.map(
        (r) =>
          `| ${r.peer} | ${r.shape} | ${fmt(r.medianMs, r.medianMs < 10 ? 2 : 0)} (${r.n}) | ${fmt(unit(r.shape) / (r.medianMs / 1000), 1)} | ${r.peer === ours ? '–' : `${fmt(r.medianMs / base(r.shape), 3)}×`} |`,
      ),
    ];
  };
  const tokens = (shape: string) => {
    const m = /b(\d+)×s(\d+)/.exec(shape)!;
    return Number(m[1]) * Number(m[2]);
  };
  const r = res.ratios;
  const lines = [
    `## Node peers (${res.date.slice(0, 16)}Z, Node ${res.node}, ${res.cpus} CPUs, ${res.options.rounds} interleaved rounds × ${res.options.reps} reps)`,
    '',
    `Model ${res.model}; ${res.onnxruntime}; ${res.torch}. Taskscope runs tfjs-wasm on one thread (Node's tfjs wasm backend has no threads).`,
    `Same function first (a 4 × 128 batch, one row half padding): max |diff| vs Taskscope: ${Object.entries(res.agreement)
      .map(([p, d]) => `${p} last hidden ${d.hidden.toExponential(1)}, pooled ${d.pooled.toExponential(1)}`)
      .join('; ')}.`,
    '',
    ...table('forward', tokens, 'tokens/s'),
    '',
    ...table('train', tokens, 'tokens/s'),
    '',
    ...table('matmul', () => (2 * MATMUL_N ** 3) / 1e9, 'GFLOP/s'),
    '',
    `- Train step (b16×s128) at ${fmt(100 * r.trainFractionOfMatmulPeak, 1)} % of tfjs-wasm's own ${MATMUL_N}³ matmul FLOP/s (${fmt(r.tfjsMatmulGflops, 1)} GFLOP/s); at s256 ${fmt(100 * r.trainFractionOfMatmulPeakS256, 1)} %. Goal ≥ 50 %.`,
    `- Train step / forward at b16×s128: ${fmt(r.trainOverForward, 2)}×. Goal ≤ 2.5×.`,
    `- Train step s256 / s128: ${fmt(r.s256OverS128, 2)}× (matmul FLOPs ${fmt(r.s256OverS128Flops, 2)}×). Goal ≤ 2.4×.`,
    `- PyTorch's ${MATMUL_N}³ matmul: ${fmt(r.torchMatmulGflops1T, 1)} GFLOP/s on 1 thread, ${fmt(r.torchMatmulGflops2T, 1)} on 2 (a reference BLAS gives ~5).`,
    ...res.notes.map((n) => `- ${n}`),
  ];
  return `${lines.join('\n')}\n`;
}

export async function reportPeersBench(o: PeersOptions) {
  const res = await runPeersBench(o);
  const md = peersMarkdown(res);
  console.log(md);
  mkdirSync(resolve(import.meta.dirname, 'results'), { recursive: true });
  writeFileSync(resolve(import.meta.dirname, 'results/peers.md'), md);
  writeFileSync(resolve(import.meta.dirname, 'results/peers.json'), JSON.stringify(res, null, 2));
  return res;
}

export function parsePeersArgs(argv: string[]): PeersOptions {
  const { values } = parseArgs({ args: argv, options: { rounds: { type: 'string', default: '2' }, reps: { type: 'string', default: '3' } } });
  const int = (name: 'rounds' | 'reps') => {
    const n = Number(values[name]);
    if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be an integer ≥ 1, got "${values[name]}"`);
    return n;
  };
  return { rounds: int('rounds'), reps: int('reps') };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await reportPeersBench(parsePeersArgs(process.argv.slice(2)));
}
