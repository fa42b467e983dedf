/**
 * Taskscope in Chromium against onnxruntime-web (wasm, the engine under transformers.js), both in module
 * workers on the same weights (the BERT-Tiny-shaped fixture, exported to ONNX by bench/browserExportOnnx.py
 * with Debian's python3-torch), at the same wasm thread count; plus Taskscope's train step with 1 and 2
 * threads. Outputs are compared first (within 1e-4), then everything is timed interleaved, round by round.
 * Absolute times move with the shared machine's load: only ratios inside one run mean anything.
 *
 *   npx tsx bench/browserBench.ts [--rounds 3] [--reps 3] [--quick]
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { BackendReport } from '../workers/browserBackend.ts';
import type { TrainShape } from '../tests/harness/compute.worker.ts';
import { startBrowserHarness } from '../tests/browser/harness.ts';
import { fixtureModelDir, repoRoot } from '../tests/helpers/shared.ts';
import { fmt, median, parseRoundArgs, writeBenchReport, type RoundOptions } from './stats.ts';
import { openComputePage } from '../tests/browser/computePage.ts';

const FIXTURE = 'bert-tiny-arch-random';
const PYTHON = process.env.TASKSCOPE_PYTHON ?? '/usr/bin/python3';
const TOL = 1e-4;

/**
 * The ONNX export, built once per checkout (under the ignored .cache/) and served by the dev server. Its own
 * name: the Node peers bench caches a different export (with pooler_output) of the same fixture.
 */
export function onnxExport(): { file: string; url: string } {
  const rel = `.cache/bench/${FIXTURE}-last-hidden.onnx`;
  const file = resolve(repoRoot, rel);
  const src = resolve(fixtureModelDir(FIXTURE), 'model.safetensors');
  if (!existsSync(file) || statSync(file).mtimeMs < statSync(src).mtimeMs) {
    mkdirSync(resolve(file, '..'), { recursive: true });
    process.stderr.write(`exporting ${FIXTURE} to ONNX with ${PYTHON} (torch) …\n`);
    execFileSync(PYTHON, [resolve(import.meta.dirname, 'browserExportOnnx.py'), fixtureModelDir(FIXTURE), file], { stdio: ['ignore', 'pipe', 'inherit'] });
  }
  return { file, url: `/${rel}` };
}

const maxAbsDiff = (a: Float32Array, b: Float32Array) => {
  if (a.length !== b.length) throw new Error(`output lengths differ: ${a.length} vs ${b.length}`);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
  return d;
};

export type BrowserBenchOptions = RoundOptions;

export async function runBrowserBench(opts: BrowserBenchOptions) {
  const onnx = onnxExport();
  const h = await startBrowserHarness();
  try {
    const { page, spawn, call } = await openComputePage(h);
    const threads = [1, 2];
    const info: Record<string, unknown> = { chromium: h.browser.version(), crossOriginIsolated: await page.evaluate(() => crossOriginIsolated) };
    for (const n of threads) {
      await spawn(`tfjs-${n}`);
      await spawn(`ort-${n}`);
      const r = await call<BackendReport>(`tfjs-${n}`, 'init', ['wasm'], { wasmThreads: n });
      if (r.wasm?.threads !== n) throw new Error(`tfjs wasm runs ${r.wasm?.threads} threads, asked for ${n} (is the page cross-origin isolated?)`);
      info[`ort-${n}`] = await call(`ort-${n}`, 'ortInit', onnx.url, n);
    }

    // Same weights, same ids: the outputs must agree before any timing means anything.
    const check: Record<string, number> = {};
    for (const n of threads) {
      const a = await call<{ last: Float32Array }>(`tfjs-${n}`, 'forward', FIXTURE, 2, 128);
      const b = await call<{ last: Float32Array }>(`ort-${n}`, 'ortForward', 2, 128);
      check[`${n} thread(s)`] = maxAbsDiff(a.last, b.last);
      if (check[`${n} thread(s)`]! > TOL) throw new Error(`Taskscope and onnxruntime-web disagree by ${check[`${n} thread(s)`]} (> ${TOL}) at ${n} thread(s)`);
    }

    const shapes = opts.quick
      ? [{ batch: 1, seq: 128 }]
      : [
          { batch: 32, seq: 128 },
          { batch: 1, seq: 128 },
        ];
    const train: TrainShape = opts.quick
      ? { layers: 2, hidden: 128, heads: 2, intermediate: 512, batch: 4, seq: 64 }
      : { layers: 2, hidden: 128, heads: 2, intermediate: 512, batch: 16, seq: 128 };
    const fwd = new Map<string, number[]>();
    const trn = new Map<number, number[]>();
    const push = <K>(m: Map<K, number[]>, k: K, xs: number[]) => m.set(k, [...(m.get(k) ?? []), ...xs]);
    for (let round = 0; round < opts.rounds; round++) {
      process.stderr.write(`round ${round + 1}/${opts.rounds}\n`);
      for (const s of shapes) {
        for (const n of threads) {
          push(fwd, `taskscope|${s.batch}|${n}`, await call<number[]>(`tfjs-${n}`, 'timeForward', FIXTURE, s.batch, s.seq, opts.warmup, opts.reps));
          push(fwd, `ort|${s.batch}|${n}`, await call<number[]>(`ort-${n}`, 'ortTimeForward', s.batch, s.seq, opts.warmup, opts.reps));
        }
      }
      for (const n of threads) {
        const r = await call<{ ms: number[]; leaked: number }>(`tfjs-${n}`, 'timeTrain', train, opts.warmup, opts.reps);
        if (r.leaked !== 0) throw new Error(`train step leaked ${r.leaked} tensors`);
        push(trn, n, r.ms);
      }
    }
    const forward = shapes.flatMap((s) =>
      threads.map((n) => {
        const ts = median(fwd.get(`taskscope|${s.batch}|${n}`)!);
        const ort = median(fwd.get(`ort|${s.batch}|${n}`)!);
        return { shape: `b${s.batch}×s${s.seq}`, threads: n, taskscopeMs: ts, ortMs: ort, speedVsOrt: ort / ts };
      }),
    );
    const trainRows = threads.map((n) => ({ shape: `L2 H128 b${train.batch}×s${train.seq}`, threads: n, stepMs: median(trn.get(n)!) }));
    const speedup = (rows: { threads: number; v: number }[]) => rows.find((r) => r.threads === 1)!.v / rows.find((r) => r.threads === 2)!.v;
    const threadSpeedup = {
      train: speedup(trainRows.map((r) => ({ threads: r.threads, v: r.stepMs }))),
      ...Object.fromEntries(
        shapes.map((s) => [
          `forward b${s.batch}`,
          speedup(forward.filter((f) => f.shape === `b${s.batch}×s${s.seq}`).map((f) => ({ threads: f.threads, v: f.taskscopeMs }))),
        ]),
      ),
    };
    return { bench: 'browser', fixture: FIXTURE, info, maxAbsDiffVsOrt: check, rounds: opts.rounds, reps: opts.reps, forward, train: trainRows, threadSpeedup };
  } finally {
    await h.close();
  }
}

export type BrowserBenchResult = Awaited<ReturnType<typeof runBrowserBench>>;

export function browserBenchMarkdown(r: BrowserBenchResult): string {
  const lines = [
    `Chromium ${String(r.info.chromium)}, cross-origin isolated: ${String(r.info.crossOriginIsolated)}; medians of ${r.rounds} interleaved rounds × ${r.reps} reps.`,
    `Outputs vs onnxruntime-web: max |Δ| ${Object.entries(r.maxAbsDiffVsOrt)
      .map(([k, v]) => `${v.toExponential(1)} (${k})`)
      .join(', ')}.`,
    '',
    '| forward | wasm threads | Taskscope ms | onnxruntime-web ms | Taskscope speed vs ORT |',
    '|---|---|---|---|---|',
    ...r.forward.map((f) => `| ${f.shape} | ${f.threads} | ${fmt(f.taskscopeMs, 1)} | ${fmt(f.ortMs, 1)} | ${fmt(f.speedVsOrt, 2)}× |`),
    '',
    '| train step (AdamW, clip 1, dropout 0.1) | wasm threads | ms |',
    '|---|---|---|',
    ...r.train.map((t) => `| ${t.shape} | ${t.threads} | ${fmt(t.stepMs, 1)} |`),
    '',
    `2 threads vs 1: ${Object.entries(r.threadSpeedup)
      .map(([k, v]) => `${k} ${fmt(v, 2)}×`)
      .join(', ')}.`,
  ];
  return lines.join('\n') + '\n';
}

export function reportBrowserBench(r: BrowserBenchResult): void {
  writeBenchReport('browser', r, browserBenchMarkdown(r));
}

export function parseBrowserBenchArgs(argv: string[]): BrowserBenchOptions {
  return parseRoundArgs(argv, { reps: 3 });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  reportBrowserBench(await runBrowserBench(parseBrowserBenchArgs(process.argv.slice(2))));
}
