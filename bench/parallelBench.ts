/**
 * Can data parallelism over worker_threads use a second core for training in Node? (tfjs-wasm runs one
 * thread in Node.) The ceiling: k replicas, each running the train step on batch/k in its own worker, all
 * started together; a synchronous data-parallel step can be no faster than the slowest replica plus the
 * gradient exchange, timed here as one gradient-sized Float32Array sent to and back from each replica and
 * averaged (structured clone). Interleaved round by round against the one-worker step on the full batch.
 *
 *   npm run bench -- parallel
 *   npx tsx bench/parallelBench.ts [--rounds 2] [--reps 3] [--workers 2]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { fmt, median } from './stats.ts';
import type { NamedShape } from './trainBench.ts';

const BATCH = 16;
const shapeFor = (batch: number): NamedShape => ({
  name: `L2 H128 A2 I512, b${batch}×s128`,
  layers: 2,
  hidden: 128,
  heads: 2,
  intermediate: 512,
  batch,
  seq: 128,
  classes: 2,
  onCpu: false,
});
/** Trainable floats of that model: the encoder (vocab 30522) plus a 2-class head, ≈ the gradient a replica sends. */
const GRAD_FLOATS = 30522 * 128 + 512 * 128 + 2 * 128 + 2 * 128 + 2 * (4 * 128 * 128 + 2 * 128 * 512 + 9 * 128 + 512) + 128 * 128 + 128 + 128 * 2 + 2;

interface Replica {
  worker: Worker;
  next: () => Promise<{ type: string; ms?: number[] }>;
}

function startReplica(shape: NamedShape, reps: number): Replica {
  // A worker does not inherit tsx's loader: register it inside the worker, then load the TypeScript module.
  const boot = `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((tsx) => { tsx.register(); return import(${JSON.stringify(new URL('./parallelWorker.ts', import.meta.url).href)}); });`;
  const worker = new Worker(boot, { eval: true, workerData: { shape, reps } });
  const queue: ((m: { type: string; ms?: number[] }) => void)[] = [];
  const inbox: { type: string; ms?: number[] }[] = [];
  worker.on('message', (m) => (queue.length ? queue.shift()!(m) : inbox.push(m)));
  worker.on('error', (e) => {
    throw e;
  });
  return { worker, next: () => (inbox.length ? Promise.resolve(inbox.shift()!) : new Promise((res) => queue.push(res))) };
}

/** Wall time of `reps` synchronous steps with k replicas on batch/k each (steps run back to back inside each replica). */
async function timeReplicas(k: number, reps: number): Promise<number> {
  const replicas = Array.from({ length: k }, () => startReplica(shapeFor(BATCH / k), reps));
  try {
    for (const r of replicas) await r.next(); // ready (warm-up step done)
    const t = performance.now();
    for (const r of replicas) r.worker.postMessage({ type: 'go' });
    await Promise.all(replicas.map((r) => r.next()));
    return (performance.now() - t) / reps;
  } finally {
    for (const r of replicas) r.worker.postMessage({ type: 'exit' });
    await Promise.all(replicas.map((r) => new Promise((res) => r.worker.once('exit', res))));
  }
}

/** One gradient exchange: each of k replicas' gradients copied to the main thread, averaged, copied back. */
async function timeExchange(k: number): Promise<number> {
  const grads = Array.from({ length: k }, (_, i) => new Float32Array(GRAD_FLOATS).fill(i));
  const echo = new Worker('const { parentPort } = require("node:worker_threads"); parentPort.on("message", (m) => parentPort.postMessage(m));', { eval: true });
  try {
    const roundTrip = (g: Float32Array) =>
      new Promise<Float32Array>((res) => {
        echo.once('message', res);
        echo.postMessage(g);
      });
    await roundTrip(grads[0]);
    const t = performance.now();
    const received = [];
    for (const g of grads) received.push(await roundTrip(g));
    const mean = new Float32Array(GRAD_FLOATS);
    for (const g of received) for (let i = 0; i < GRAD_FLOATS; i++) mean[i] += g[i] / k;
    for (let i = 0; i < k; i++) await roundTrip(mean);
    return performance.now() - t;
  } finally {
    await echo.terminate();
  }
}

export async function runParallelBench(o: { rounds: number; reps: number; workers: number }) {
  const one: number[] = [],
    many: number[] = [],
    exchange: number[] = [];
  for (let r = 0; r < o.rounds; r++) {
    one.push(await timeReplicas(1, o.reps));
    many.push(await timeReplicas(o.workers, o.reps));
    exchange.push(await timeExchange(o.workers));
    process.stderr.write(`round ${r + 1}/${o.rounds} done\n`);
  }
  const oneMs = median(one),
    manyMs = median(many),
    exMs = median(exchange);
  return {
    bench: 'data-parallel-ceiling',
    cpus: cpus().length,
    node: process.version,
    date: new Date().toISOString(),
    options: o,
    shape: shapeFor(BATCH).name,
    gradFloats: GRAD_FLOATS,
    oneWorkerStepMs: oneMs,
    replicaStepMs: manyMs,
    exchangeMs: exMs,
    speedupCeiling: oneMs / (manyMs + exMs),
    samples: { one, many, exchange },
  };
}

export function parallelMarkdown(res: Awaited<ReturnType<typeof runParallelBench>>): string {
  const k = res.options.workers;
  return (
    [
      `## Data parallel over worker_threads, ceiling (${res.date.slice(0, 16)}Z, Node ${res.node}, ${res.cpus} CPUs)`,
      '',
      `| setting | ms per step of batch ${BATCH} |`,
      '|---|---:|',
      `| 1 worker, ${res.shape} | ${fmt(res.oneWorkerStepMs, 0)} |`,
      `| ${k} workers at once, batch ${BATCH / k} each (slowest) | ${fmt(res.replicaStepMs, 0)} |`,
      `| gradient exchange (${fmt(res.gradFloats / 1e6, 2)} M floats to and from ${k} replicas, averaged) | ${fmt(res.exchangeMs, 0)} |`,
      '',
      `Speed-up ceiling of a synchronous ${k}-worker step: ${fmt(res.speedupCeiling, 2)}× (medians of ${res.options.rounds} interleaved rounds × ${res.options.reps} steps).`,
    ].join('\n') + '\n'
  );
}

export async function reportParallelBench(o: { rounds: number; reps: number; workers: number }) {
  const res = await runParallelBench(o);
  const md = parallelMarkdown(res);
  console.log(md);
  mkdirSync(resolve(import.meta.dirname, 'results'), { recursive: true });
  writeFileSync(resolve(import.meta.dirname, 'results/parallel.md'), md);
  return res;
}

export function parseParallelArgs(argv: string[]) {
  const { values } = parseArgs({
    args: argv,
    options: { rounds: { type: 'string', default: '2' }, reps: { type: 'string', default: '3' }, workers: { type: 'string', default: '2' } },
  });
  const int = (name: 'rounds' | 'reps' | 'workers') => {
    const n = Number(values[name]);
    if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be an integer ≥ 1, got "${values[name]}"`);
    return n;
  };
  const workers = int('workers');
  if (BATCH % workers !== 0) throw new Error(`--workers must divide the batch ${BATCH}, got ${workers}`);
  return { rounds: int('rounds'), reps: int('reps'), workers };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await reportParallelBench(parseParallelArgs(process.argv.slice(2)));
}
