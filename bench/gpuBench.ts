/**
 * `npm run bench -- gpu`: Taskscope on WebGPU against wasm in headless Chromium with the flags a Linux
 * machine with a real GPU needs (Vulkan), forward and train step at batch 32, plus a PyTorch CUDA peer when
 * torch.cuda.is_available(). Figures, with the adapter's name, go to bench/results/gpu.{json,md}. The
 * adapter is reported as software when it is one (SwiftShader here): those figures are not GPU figures.
 * Also counts WebGPU dispatches and uploads per forward pass and per train step.
 *
 *   npx tsx bench/gpuBench.ts [--quick] [--rounds=N] [--reps=N]
 *   TASKSCOPE_GPU_FLAGS="--enable-unsafe-webgpu ..." overrides the Chromium flags.
 */
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import type { BackendReport } from '../workers/browserBackend.ts';
import type { WebGPUCounts } from '../workers/webgpuCounters.ts';
import type { TrainShape } from '../tests/harness/compute.worker.ts';
import { softwareAdapterReason } from '../src/engine/runtime/autoBackend.ts';
import { startBrowserHarness } from '../tests/browser/harness.ts';
import { fmt, median, parseRoundArgs, writeBenchReport, type RoundOptions } from './stats.ts';
import { openComputePage } from '../tests/browser/computePage.ts';
import { torchConfig } from './torchPeer.ts';

const FIXTURE = 'bert-tiny-arch-random';
const PYTHON = process.env.TASKSCOPE_PYTHON ?? '/usr/bin/python3';

/** Chromium on Linux only exposes a hardware WebGPU adapter through Vulkan, and headless blocklists GPUs. */
export const GPU_FLAGS = process.env.TASKSCOPE_GPU_FLAGS?.split(/\s+/).filter(Boolean) ?? [
  '--enable-unsafe-webgpu',
  '--enable-features=Vulkan,VulkanFromANGLE',
  '--use-angle=vulkan',
  '--use-vulkan=native',
  '--ignore-gpu-blocklist',
  '--disable-vulkan-surface',
];

export type GpuBenchOptions = RoundOptions;

function torchCuda(op: 'forward' | 'train', s: TrainShape, o: GpuBenchOptions) {
  const config = torchConfig(s, { dropout: op === 'train' ? 0.1 : 0 });
  try {
    const out = execFileSync(PYTHON, [resolve(import.meta.dirname, 'gpuTorchPeer.py')], {
      input: JSON.stringify({ op, config, batch: s.batch, seq: s.seq, reps: o.reps * o.rounds, warmup: o.warmup, optimizer: 'adamw' }) + '\n',
      stdio: ['pipe', 'pipe', 'inherit'],
    }).toString();
    return JSON.parse(out) as { cuda: false; why: string } | { cuda: true; device: string; torch: string; ms: number[] };
  } catch (e) {
    return { cuda: false as const, why: `${PYTHON} bench/gpuTorchPeer.py failed: ${(e as Error).message.split('\n')[0]}` };
  }
}

export async function runGpuBench(o: GpuBenchOptions) {
  // The fixture's architecture (BERT-Tiny: L2 H128 A2 I512) for both forward and train.
  const shape: TrainShape = o.quick
    ? { layers: 2, hidden: 128, heads: 2, intermediate: 512, batch: 2, seq: 32 }
    : { layers: 2, hidden: 128, heads: 2, intermediate: 512, batch: 32, seq: 128 };
  const h = await startBrowserHarness({ chromiumArgs: GPU_FLAGS });
  try {
    const { spawn, call } = await openComputePage(h);
    await spawn('webgpu');
    await spawn('wasm');
    const gpu = await call<BackendReport>('webgpu', 'init', ['webgpu']);
    if (gpu.name !== 'webgpu') throw new Error(`WebGPU did not start in Chromium with ${GPU_FLAGS.join(' ')}: ${gpu.fallbackReason ?? gpu.name}`);
    const wasm = await call<BackendReport>('wasm', 'init', ['wasm']);
    const a = gpu.adapter!;
    const software = softwareAdapterReason({ ...a, isFallbackAdapter: a.isFallbackAdapter });
    const adapter = {
      vendor: a.vendor,
      architecture: a.architecture,
      device: a.device,
      description: a.description,
      isFallbackAdapter: a.isFallbackAdapter,
      software: software ?? null,
    };
    process.stderr.write(`adapter: ${JSON.stringify(adapter)}\n`);

    // The same counts with tfjs's generic compositions (Taskscope's webgpu kernels unregistered), for comparison.
    await call('webgpu', 'setFused', false);
    const genericCounts = await call<{ forward: WebGPUCounts; trainStep: WebGPUCounts }>('webgpu', 'countWebGPU', FIXTURE, shape);
    await call('webgpu', 'setFused', true);
    const counts = await call<{ forward: WebGPUCounts; trainStep: WebGPUCounts }>('webgpu', 'countWebGPU', FIXTURE, shape);
    const times = new Map<string, number[]>();
    const push = (k: string, xs: number[]) => times.set(k, [...(times.get(k) ?? []), ...xs]);
    for (let r = 0; r < o.rounds; r++) {
      process.stderr.write(`round ${r + 1}/${o.rounds}\n`);
      for (const b of ['webgpu', 'wasm']) {
        push(`${b} forward`, await call<number[]>(b, 'timeForward', FIXTURE, shape.batch, shape.seq, o.warmup, o.reps));
        const t = await call<{ ms: number[]; leaked: number }>(b, 'timeTrain', shape, o.warmup, o.reps);
        if (t.leaked !== 0) throw new Error(`${b} train step leaked ${t.leaked} tensors`);
        push(`${b} train`, t.ms);
      }
    }
    const torch = { forward: torchCuda('forward', shape, o), train: torchCuda('train', shape, o) };
    const row = (what: 'forward' | 'train') => {
      const g = median(times.get(`webgpu ${what}`)!);
      const w = median(times.get(`wasm ${what}`)!);
      const t = torch[what];
      return { what, webgpuMs: g, wasmMs: w, webgpuSpeedVsWasm: w / g, torchCudaMs: t.cuda ? median(t.ms) : null };
    };
    return {
      bench: 'gpu',
      chromium: h.browser.version(),
      flags: GPU_FLAGS,
      adapter,
      wasmThreads: wasm.wasm?.threads ?? null,
      shape: `L${shape.layers} H${shape.hidden} A${shape.heads} I${shape.intermediate}, b${shape.batch}×s${shape.seq}`,
      rounds: o.rounds,
      reps: o.reps,
      rows: [row('forward'), row('train')],
      torchCuda: torch.forward.cuda ? { device: torch.forward.device, torch: torch.forward.torch } : { unavailable: torch.forward.why },
      webgpuCounts: counts,
      webgpuGenericCounts: genericCounts,
    };
  } finally {
    await h.close();
  }
}

export type GpuBenchResult = Awaited<ReturnType<typeof runGpuBench>>;

const topPrograms = (c: WebGPUCounts, n = 6) =>
  Object.entries(c.byProgram)
    .sort((x, y) => y[1] - x[1])
    .slice(0, n)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');

export function gpuBenchMarkdown(r: GpuBenchResult): string {
  const a = r.adapter;
  const name = [a.vendor, a.architecture, a.device, a.description].filter(Boolean).join(' / ');
  return (
    [
      `Adapter: ${name}${a.software ? ` — SOFTWARE (${a.software}): not a GPU figure` : ''}. Chromium ${r.chromium}, flags ${r.flags.join(' ')}.`,
      `Shape ${r.shape}; wasm with ${r.wasmThreads} thread(s); medians of ${r.rounds} interleaved round(s) × ${r.reps} rep(s).`,
      `PyTorch CUDA peer: ${'device' in r.torchCuda ? `${r.torchCuda.device} (torch ${r.torchCuda.torch})` : `not run (${r.torchCuda.unavailable})`}.`,
      '',
      '| | webgpu ms | wasm ms | webgpu speed vs wasm | PyTorch CUDA ms |',
      '|---|---|---|---|---|',
      ...r.rows.map(
        (x) =>
          `| ${x.what} | ${fmt(x.webgpuMs, 1)} | ${fmt(x.wasmMs, 1)} | ${fmt(x.webgpuSpeedVsWasm, 2)}× | ${x.torchCudaMs === null ? '—' : fmt(x.torchCudaMs, 2)} |`,
      ),
      '',
      '| WebGPU work | forward dispatches | forward uploads | train-step dispatches | train-step uploads (KiB) |',
      '|---|---|---|---|---|',
      ...(
        [
          ['tfjs generic ops', r.webgpuGenericCounts],
          ['Taskscope fused kernels', r.webgpuCounts],
        ] as const
      ).map(
        ([what, c]) =>
          `| ${what} | ${c.forward.dispatches} | ${c.forward.uploads} | ${c.trainStep.dispatches} | ${c.trainStep.uploads} (${fmt(c.trainStep.uploadBytes / 1024, 1)}) |`,
      ),
      '',
      `Train step by program: ${topPrograms(r.webgpuCounts.trainStep)}.`,
      `Train-step uploads by shape: ${Object.entries(r.webgpuCounts.trainStep.uploadsByShape)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')}.`,
    ].join('\n') + '\n'
  );
}

export function reportGpuBench(r: GpuBenchResult): void {
  writeBenchReport('gpu', r, gpuBenchMarkdown(r));
}

export function parseGpuBenchArgs(argv: string[]): GpuBenchOptions {
  return parseRoundArgs(argv, { reps: 5 });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  reportGpuBench(await runGpuBench(parseGpuBenchArgs(process.argv.slice(2))));
}
