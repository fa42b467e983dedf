/**
 * Runs every benchmark in one process, one after another, and updates bench/results/summary.json: a named
 * subset replaces only its own entries, so `npm run bench -- train` keeps the tokenizer figures of an earlier run.
 * Each benchmark interleaves Taskscope with its peer (PyTorch CPU, @huggingface/tokenizers) inside its own
 * run, so the ratios it reports are side by side; absolute numbers move with the shared machine's load.
 *
 *   npm run bench            (all)
 *   npm run bench -- encoder tokenizer
 *   npm run bench -- train     (training step per backend vs its matmul peak; see bench/trainBench.ts)
 *   npm run bench -- peers     (tfjs-wasm vs onnxruntime-node and PyTorch+OpenBLAS, same weights; see bench/peersBench.ts)
 *   npm run bench -- parallel  (ceiling of data parallel training over worker_threads; see bench/parallelBench.ts)
 *   npm run bench -- profile   (per-kernel time of a tfjs-wasm train step, L2 H128 b16×s128; see bench/profileBench.ts)
 *   npm run bench -- browser [--quick]  (Chromium: Taskscope vs onnxruntime-web, 1 and 2 wasm threads; bench/browserBench.ts)
 *   npm run bench -- gpu [--quick]      (Chromium with Vulkan: webgpu vs wasm, PyTorch CUDA when present; bench/gpuBench.ts)
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';

type Bench = { name: string; run: () => Promise<unknown> };

const BENCHES: Bench[] = [
  { name: 'tokenizer', run: async () => (await import('./tokenizerBench.ts')).runTokenizerBench({}) },
  {
    name: 'data',
    run: async () => ({
      node: await (await import('./dataBench.ts')).runDataBench({}),
      browser: await (await import('./dataBrowserBench.ts')).runDataBrowserBench(),
    }),
  },
  { name: 'encoder', run: async () => (await import('./encoderBench.ts')).runEncoderBench({ rounds: 3, reps: 3, batch: 32, seq: 128 }) },
  {
    name: 'train',
    run: async () => {
      const m = await import('./trainBench.ts');
      const res = await m.runTrainBench({ rounds: 2, reps: 3, warmup: 1, cpuReps: 1, matmul: 1024, optimizer: 'adamw', backends: ['wasm', 'cpu', 'torch'] });
      m.reportTrainBench(res); // also bench/results/train.md, the table the README quotes
      return res;
    },
  },
  {
    name: 'peers',
    run: async () => {
      const m = await import('./peersBench.ts');
      return m.reportPeersBench(m.parsePeersArgs([])); // also bench/results/peers.md
    },
  },
  {
    name: 'parallel',
    run: async () => {
      const m = await import('./parallelBench.ts');
      return m.reportParallelBench(m.parseParallelArgs([])); // also bench/results/parallel.md
    },
  },
  {
    name: 'profile',
    run: async () => {
      const m = await import('./profileBench.ts');
      return m.reportProfileBench(m.parseProfileArgs([])); // also bench/results/profile-wasm.md
    },
  },
  {
    name: 'browser',
    run: async () => {
      const m = await import('./browserBench.ts');
      const res = await m.runBrowserBench(m.parseBrowserBenchArgs(process.argv.slice(2).filter((a) => a.startsWith('--'))));
      m.reportBrowserBench(res); // also bench/results/browser.md
      return res;
    },
  },
  {
    name: 'gpu',
    run: async () => {
      const m = await import('./gpuBench.ts');
      const res = await m.runGpuBench(m.parseGpuBenchArgs(process.argv.slice(2).filter((a) => a.startsWith('--'))));
      m.reportGpuBench(res); // also bench/results/gpu.md
      return res;
    },
  },
];

const wanted = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const unknown = wanted.filter((w) => !BENCHES.some((b) => b.name === w));
if (unknown.length) {
  process.stderr.write(`unknown bench ${unknown.join(', ')}; choose from ${BENCHES.map((b) => b.name).join(', ')}\n`);
  process.exit(2);
}

const summaryFile = resolve(import.meta.dirname, 'results/summary.json');
// Each entry carries its own machine and date, since entries of different runs now live side by side.
const summary: Record<string, unknown> = existsSync(summaryFile) ? JSON.parse(readFileSync(summaryFile, 'utf8')) : {};
delete summary.machine; // the single run-wide stamp of the older format
for (const b of BENCHES) {
  if (wanted.length && !wanted.includes(b.name)) continue;
  process.stderr.write(`== ${b.name}\n`);
  const result = await b.run();
  summary[b.name] = { machine: { node: process.version, date: new Date().toISOString() }, result };
  console.log(JSON.stringify({ [b.name]: result }, null, 2));
}
mkdirSync(resolve(import.meta.dirname, 'results'), { recursive: true });
writeFileSync(summaryFile, JSON.stringify(summary, null, 2));
