/**
 * Training throughput per backend: one real step of the engine's Trainer (what `taskscope train` runs: a
 * random-init encoder with one 2-class task head, dropout 0.1, cross-entropy, global clip 1.0, AdamW) on
 * random token ids, for tfjs wasm and cpu in Node and PyTorch CPU on the same shapes. Next to each step
 * time it puts the step's matmul FLOPs (bench/trainFlops.ts) over the time, as a fraction of the same
 * backend's own peak: a large square matmul timed in the same run. Everything is interleaved round by
 * round (the machine is shared and noisy: only ratios inside one run mean anything).
 *
 *   npx tsx bench/trainBench.ts [--rounds 2] [--reps 3] [--warmup 4] [--cpu-reps 1] [--matmul 1024]
 *                               [--optimizer adamw|adamax] [--backends wasm,cpu,torch]
 */
import * as tf from '@tensorflow/tfjs';
import { mkdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { initNodeBackend } from '../src/cli/nodeBackend.ts';
import { parseExperiment, type Experiment } from '../src/engine/experiment/experimentSchema.ts';
import { Rng } from '../src/engine/runtime/rng.ts';
import { memorySplit } from '../src/engine/train/memorySplit.ts';
import { buildEncoder, buildMultiTaskModel } from '../src/engine/model/modelFactory.ts';
import { Trainer } from '../src/engine/train/trainer.ts';
import { fmt, median } from './stats.ts';
import { TORCH_PYTHON, TorchPeer, torchConfig } from './torchPeer.ts';
import { trainStepFlops, type TrainShape } from './trainFlops.ts';

/** bert-base-uncased's vocabulary: the embedding (and its dense gradient) is as large as in a real run. */
export const VOCAB = 30522;
/** The GLUE task whose head the step trains: 2 classes, like SST-2 itself. */
export const TASK = 'SST-2';

export interface NamedShape extends TrainShape {
  name: string;
  /** Also time it on tfjs cpu (~30× slower than wasm: only the smaller shape). */
  onCpu: boolean;
}

export const TRAIN_SHAPES: NamedShape[] = [
  // The shape CONTRIBUTING.md's benchmark table uses (BERT-Tiny, batch 16 × seq 128).
  { name: 'L2 H128 A2 I512, b16×s128', layers: 2, hidden: 128, heads: 2, intermediate: 512, batch: 16, seq: 128, classes: 2, onCpu: true },
  // The shape of the GLUE studies (experiments/studies/pretrained-vs-random.json: batch 32, maxLength 64).
  { name: 'L4 H128 A4 I512, b32×s64', layers: 4, hidden: 128, heads: 4, intermediate: 512, batch: 32, seq: 64, classes: 2, onCpu: false },
];

export interface TrainBenchOptions {
  rounds: number;
  reps: number;
  warmup: number;
  /** Timed steps per round on tfjs cpu. */
  cpuReps: number;
  /** Side of the square matmul whose throughput is each backend's peak. */
  matmul: number;
  optimizer: 'adamw' | 'adamax';
  backends: ('wasm' | 'cpu' | 'torch')[];
}

export function benchExperiment(s: NamedShape, optimizer: TrainBenchOptions['optimizer']): Experiment {
  return parseExperiment(
    {
      name: 'train-bench',
      tasks: [{ name: TASK }],
      model: { kind: 'random', layers: s.layers, hidden: s.hidden, heads: s.heads, intermediate: s.intermediate, vocab: 'bert-base-uncased' },
      data: { kind: 'synthetic' },
      optimizer: { kind: optimizer, lr: 5e-4 },
      batchSize: s.batch,
      maxLength: s.seq,
      // One epoch over the rows randomSplit makes: warm-up + timed steps, every one a full batch.
      epochs: 1,
      globalClip: 1,
      seed: 1,
    },
    'train bench',
  );
}

/** Rows of exactly `seq` tokens ([CLS] random words [SEP]) with random labels, so no batch has padding. */
export function randomSplit(s: NamedShape, rows: number) {
  const rng = new Rng(`train-bench/${s.name}`);
  return memorySplit(
    TASK,
    'train',
    Array.from({ length: rows }, (_, i) => ({
      ids: [101, ...Array.from({ length: s.seq - 2 }, () => 1000 + rng.int(VOCAB - 1000)), 102],
      label: rng.int(s.classes),
      uid: String(i),
    })),
  );
}

/** Step times of a fresh Trainer on `backend`, plus how many tensors it left behind (should be 0). */
export async function timeTfjsTrain(backend: 'wasm' | 'cpu', s: NamedShape, warmup: number, reps: number, optimizer: TrainBenchOptions['optimizer']) {
  await initNodeBackend(backend);
  const before = tf.memory().numTensors;
  const exp = benchExperiment(s, optimizer);
  const model = buildMultiTaskModel(exp, buildEncoder(exp, { vocabSize: VOCAB }));
  const trainer = new Trainer({ experiment: exp, model, data: { [TASK]: { train: randomSplit(s, s.batch * (warmup + reps)) } } });
  const ms: number[] = [];
  try {
    for (let i = 0; i < warmup; i++) await trainer.trainStep(); // kernel set-up, optimiser slots
    for (let i = 0; i < reps; i++) {
      const t = performance.now();
      await trainer.trainStep();
      ms.push(performance.now() - t);
    }
  } finally {
    trainer.dispose();
    model.dispose();
  }
  return { ms, leaked: tf.memory().numTensors - before };
}

export async function timeTfjsMatmul(backend: 'wasm' | 'cpu', n: number, warmup: number, reps: number) {
  await initNodeBackend(backend);
  const a = tf.randomNormal([n, n], 0, 1, 'float32', 1);
  const b = tf.randomNormal([n, n], 0, 1, 'float32', 2);
  const once = async () => {
    const c = tf.matMul(a, b);
    await c.data();
    c.dispose();
  };
  const ms: number[] = [];
  try {
    for (let i = 0; i < warmup; i++) await once();
    for (let i = 0; i < reps; i++) {
      const t = performance.now();
      await once();
      ms.push(performance.now() - t);
    }
  } finally {
    tf.dispose([a, b]);
  }
  return ms;
}

export interface TrainBenchRow {
  backend: string;
  shape: string;
  n: number;
  stepMs: number;
  examplesPerSec: number;
  tokensPerSec: number;
  gflopPerStep: number;
  achievedGflops: number;
  peakGflops: number;
  fractionOfPeak: number;
  /** tokens/s over tfjs-wasm's on the same shape. */
  vsWasm: number;
}

export async function runTrainBench(opts: TrainBenchOptions) {
  const notes: string[] = [];
  const want = new Set(opts.backends);
  let torch: TorchPeer | null = null;
  if (want.has('torch')) {
    if (TorchPeer.available()) torch = TorchPeer.start();
    else {
      notes.push(`PyTorch peer skipped: ${TORCH_PYTHON} is missing or cannot \`import torch\` (set TASKSCOPE_TORCH_PYTHON).`);
      process.stderr.write(`${notes.at(-1)}\n`);
    }
  }
  // Thread settings for the peer: 1 thread, torch's default, and every core when the default is fewer.
  const torchThreads: { label: string; threads: number }[] = [];
  let torchVersion = 'not run';
  if (torch) {
    const info = await torch.request({ op: 'info' });
    // Debian's python3-torch reports BLAS_INFO=generic but calls whatever libblas.so.3 is installed: the
    // library actually mapped says whether this is the reference BLAS (a low peak) or OpenBLAS.
    torchVersion = `${info.torch}, BLAS loaded: ${info.blas_loaded ?? 'unknown'}`;
    if (!/openblas/i.test(info.blas_loaded ?? ''))
      notes.push(
        "This PyTorch has not loaded OpenBLAS (apt-get install libopenblas0-pthread): with the reference BLAS its matmul peak, and so its absolute speed, is far below a stock PyTorch wheel's.",
      );
    for (const n of [...new Set([1, info.threads, info.cpus ?? info.threads])]) {
      torchThreads.push({ label: `pytorch-cpu ${n}T${n === info.threads ? ' (default)' : ''}`, threads: n });
    }
    if (info.threads !== info.cpus)
      notes.push(`torch's default thread count here is ${info.threads} of ${info.cpus} CPUs, so the all-core setting is timed too.`);
  }
  const steps = new Map<string, number[]>(); // `${backend}|${shape}` → ms
  const peaks = new Map<string, number[]>(); // backend → ms of one n³ matmul
  const push = (m: Map<string, number[]>, k: string, xs: number[]) => m.set(k, [...(m.get(k) ?? []), ...xs]);
  let leaked = 0;
  const matmulReps = Math.max(2, opts.reps);
  try {
    for (let r = 0; r < opts.rounds; r++) {
      for (const backend of ['wasm', 'cpu'] as const) {
        if (!want.has(backend)) continue;
        const reps = backend === 'cpu' ? opts.cpuReps : opts.reps;
        for (const s of TRAIN_SHAPES) {
          if (backend === 'cpu' && !s.onCpu) continue;
          const t = await timeTfjsTrain(backend, s, opts.warmup, reps, opts.optimizer);
          push(steps, `tfjs-${backend}|${s.name}`, t.ms);
          leaked += t.leaked;
        }
        push(peaks, `tfjs-${backend}`, await timeTfjsMatmul(backend, opts.matmul, 1, backend === 'cpu' ? Math.max(1, opts.cpuReps) : matmulReps));
      }
      for (const { label, threads } of torchThreads) {
        for (const s of TRAIN_SHAPES) {
          const a = await torch!.request({
            op: 'train',
            config: torchConfig(s, { vocab: VOCAB }),
            batch: s.batch,
            seq: s.seq,
            reps: opts.reps,
            warmup: opts.warmup,
            threads,
            optimizer: opts.optimizer,
            weight_decay: 0.01,
            global_clip: 1,
            labels: s.classes,
          });
          push(steps, `${label}|${s.name}`, a.ms);
        }
        push(peaks, label, (await torch!.request({ op: 'matmul', n: opts.matmul, reps: matmulReps, warmup: 1, threads })).ms);
      }
      process.stderr.write(`round ${r + 1}/${opts.rounds} done\n`);
    }
  } finally {
    torch?.close();
  }
  if (want.has('cpu')) notes.push(`tfjs-cpu is ~30× slower than wasm: it runs only the first shape, ${opts.cpuReps} timed step(s) a round.`);
  if (leaked !== 0) notes.push(`WARNING: the tfjs trainers left ${leaked} tensors behind.`);

  const peakFlop = 2 * opts.matmul ** 3;
  const rows: TrainBenchRow[] = [];
  for (const [key, ms] of steps) {
    const [backend, shapeName] = key.split('|');
    const s = TRAIN_SHAPES.find((x) => x.name === shapeName)!;
    const stepMs = median(ms);
    const flop = trainStepFlops(s);
    const achievedGflops = flop / (stepMs / 1000) / 1e9;
    const peakGflops = peakFlop / (median(peaks.get(backend)!) / 1000) / 1e9;
    rows.push({
      backend,
      shape: s.name,
      n: ms.length,
      stepMs,
      examplesPerSec: s.batch / (stepMs / 1000),
      tokensPerSec: (s.batch * s.seq) / (stepMs / 1000),
      gflopPerStep: flop / 1e9,
      achievedGflops,
      peakGflops,
      fractionOfPeak: achievedGflops / peakGflops,
      vsWasm: NaN,
    });
  }
  for (const r of rows) {
    const wasm = rows.find((w) => w.backend === 'tfjs-wasm' && w.shape === r.shape);
    r.vsWasm = wasm ? r.tokensPerSec / wasm.tokensPerSec : NaN;
  }
  rows.sort((a, b) => TRAIN_SHAPES.findIndex((s) => s.name === a.shape) - TRAIN_SHAPES.findIndex((s) => s.name === b.shape));
  return {
    bench: 'train-step',
    step: `Trainer.trainStep(): random-init encoder (vocab ${VOCAB}), one ${TASK}-shaped 2-class head, dropout 0.1, ${opts.optimizer}, global clip 1.0, random token ids, no padding`,
    flops: 'matmul FLOPs without embeddings: 3 × forward, forward = L·(2BT(4H² + 2HI) + 4BT²H) + 2BH² + 2BHC (bench/trainFlops.ts)',
    peak: `median time of one ${opts.matmul}×${opts.matmul} by ${opts.matmul}×${opts.matmul} float32 matmul on the same backend, same run`,
    options: opts,
    torch: torchVersion,
    node: process.version,
    date: new Date().toISOString(),
    notes,
    rows,
  };
}

export type TrainBenchResult = Awaited<ReturnType<typeof runTrainBench>>;

export function trainBenchMarkdown(res: TrainBenchResult): string {
  const o = res.options;
  const lines = [
    `## Training step throughput (${res.date.slice(0, 10)}, Node ${res.node}, PyTorch ${res.torch})`,
    '',
    `One step = ${res.step}. ${o.rounds} interleaved round(s), ${o.warmup} warm-up step(s) then ${o.reps} timed step(s) per round (tfjs-cpu ${o.cpuReps}); step ms is the median.`,
    `GFLOP/step: ${res.flops}. Peak: ${res.peak}.`,
    '',
    '| backend | model, batch × seq | step ms (n) | examples/s | tokens/s | GFLOP/step | GFLOP/s | matmul peak GFLOP/s | fraction of peak | tokens/s vs tfjs-wasm |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...res.rows.map(
      (r) =>
        `| ${r.backend} | ${r.shape} | ${fmt(r.stepMs, 0)} (${r.n}) | ${fmt(r.examplesPerSec, 1)} | ${fmt(r.tokensPerSec, 0)} | ${fmt(r.gflopPerStep, 2)} | ${fmt(r.achievedGflops, 2)} | ${fmt(r.peakGflops, 2)} | ${fmt(100 * r.fractionOfPeak, 1)} % | ${Number.isFinite(r.vsWasm) ? `${fmt(r.vsWasm, 2)}×` : '–'} |`,
    ),
  ];
  if (res.notes.length) lines.push('', ...res.notes.map((n) => `- ${n}`));
  return `${lines.join('\n')}\n`;
}

/** Prints the table and writes bench/results/train.md and train.json. */
export function reportTrainBench(res: TrainBenchResult): void {
  const md = trainBenchMarkdown(res);
  console.log(md);
  mkdirSync(resolve(import.meta.dirname, 'results'), { recursive: true });
  writeFileSync(resolve(import.meta.dirname, 'results/train.md'), md);
  writeFileSync(resolve(import.meta.dirname, 'results/train.json'), JSON.stringify(res, null, 2));
}

export function parseTrainBenchArgs(argv: string[]): TrainBenchOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      rounds: { type: 'string', default: '2' },
      reps: { type: 'string', default: '3' },
      warmup: { type: 'string', default: '4' }, // tfjs-wasm's first steps pay for growing its heap
      'cpu-reps': { type: 'string', default: '1' },
      matmul: { type: 'string', default: '1024' },
      optimizer: { type: 'string', default: 'adamw' },
      backends: { type: 'string', default: 'wasm,cpu,torch' },
    },
  });
  const int = (name: string, v: string, min: number) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer ≥ ${min}, got "${v}"`);
    return n;
  };
  if (values.optimizer !== 'adamw' && values.optimizer !== 'adamax') throw new Error(`--optimizer must be adamw or adamax, got "${values.optimizer}"`);
  const backends = values.backends.split(',').map((b) => b.trim());
  for (const b of backends) if (!['wasm', 'cpu', 'torch'].includes(b)) throw new Error(`--backends takes wasm, cpu, torch; got "${b}"`);
  return {
    rounds: int('rounds', values.rounds, 1),
    reps: int('reps', values.reps, 1),
    warmup: int('warmup', values.warmup, 0),
    cpuReps: int('cpu-reps', values['cpu-reps'], 1),
    matmul: int('matmul', values.matmul, 16),
    optimizer: values.optimizer,
    backends: backends as TrainBenchOptions['backends'],
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  reportTrainBench(await runTrainBench(parseTrainBenchArgs(process.argv.slice(2))));
}
