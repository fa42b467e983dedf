/**
 * Where Taskscope's time goes in Chromium at 1 and at 2 wasm threads, per tfjs kernel: tf.profile around a
 * forward pass of the BERT-Tiny-shaped fixture (b32×s128) and around a train step (L2 H128 b16×s128, AdamW,
 * clip 1, dropout 0.1), in two module workers (one per thread count), interleaved round by round. A kernel
 * whose time does not fall with the second thread runs single-threaded in tfjs-wasm (or is too small for
 * XNNPACK to split). Writes bench/results/browser-profile.{json,md}.
 *
 *   npx tsx bench/browserProfileBench.ts [--rounds 2] [--reps 2] [--quick]
 */
import { loadavg } from 'node:os';
import type { Page } from 'playwright-core';
import type { BackendReport } from '../workers/browserBackend.ts';
import type { computeHarness } from '../tests/harness/compute.ts';
import type { TrainShape } from '../tests/harness/compute.worker.ts';
import { startBrowserHarness } from '../tests/browser/harness.ts';
import { fmt, parseRoundArgs, writeBenchReport } from './stats.ts';

const FIXTURE = 'bert-tiny-arch-random';
type Harness = typeof computeHarness;
type Profile = { wallMs: number; kernels: Record<string, { ms: number; calls: number }> };

function call<T>(page: Page, name: string, method: string, ...args: unknown[]): Promise<T> {
  return page.evaluate(([n, m, a]) => (window as unknown as { __taskscopeCompute: Harness }).__taskscopeCompute.call(n, m as never, a), [
    name,
    method,
    args,
  ] as const) as Promise<T>;
}

export interface KernelThreadRow {
  kernel: string;
  calls: number;
  ms1: number;
  ms2: number;
}

/** Averages profiles kernel by kernel (a kernel missing from a round counts as 0 ms there). */
function mean(profiles: Profile[]): Profile {
  const kernels: Profile['kernels'] = {};
  for (const p of profiles) {
    for (const [k, e] of Object.entries(p.kernels)) {
      const m = (kernels[k] ??= { ms: 0, calls: 0 });
      m.ms += e.ms / profiles.length;
      m.calls += e.calls / profiles.length;
    }
  }
  return { wallMs: profiles.reduce((a, p) => a + p.wallMs, 0) / profiles.length, kernels };
}

function rows(one: Profile, two: Profile): KernelThreadRow[] {
  const names = new Set([...Object.keys(one.kernels), ...Object.keys(two.kernels)]);
  return [...names]
    .map((kernel) => ({ kernel, calls: one.kernels[kernel]?.calls ?? 0, ms1: one.kernels[kernel]?.ms ?? 0, ms2: two.kernels[kernel]?.ms ?? 0 }))
    .sort((a, b) => b.ms1 - a.ms1);
}

export async function runBrowserProfileBench(opts: { rounds: number; reps: number; quick: boolean }) {
  const forward: TrainShape = opts.quick
    ? { layers: 2, hidden: 128, heads: 2, intermediate: 512, batch: 4, seq: 128 }
    : { layers: 2, hidden: 128, heads: 2, intermediate: 512, batch: 32, seq: 128 };
  const train: TrainShape = opts.quick
    ? { layers: 2, hidden: 128, heads: 2, intermediate: 512, batch: 4, seq: 64 }
    : { layers: 2, hidden: 128, heads: 2, intermediate: 512, batch: 16, seq: 128 };
  const load = [loadavg()[0]!];
  const h = await startBrowserHarness();
  try {
    const { page } = await h.open('tests/harness/compute.html');
    await page.waitForFunction(() => (window as unknown as { __taskscopeCompute?: unknown }).__taskscopeCompute !== undefined, undefined, { timeout: 120_000 });
    const threads = [1, 2];
    for (const n of threads) {
      await page.evaluate((w) => (window as unknown as { __taskscopeCompute: Harness }).__taskscopeCompute.spawn(w), `tfjs-${n}`);
      const r = await call<BackendReport>(page, `tfjs-${n}`, 'init', ['wasm'], { wasmThreads: n });
      if (r.wasm?.threads !== n) throw new Error(`tfjs wasm runs ${r.wasm?.threads} threads, asked for ${n} (is the page cross-origin isolated?)`);
    }
    const got = new Map<string, Profile[]>();
    for (let round = 0; round < opts.rounds; round++) {
      process.stderr.write(`profile round ${round + 1}/${opts.rounds}\n`);
      for (const what of ['forward', 'train'] as const) {
        for (const n of threads) {
          const p = await call<Profile>(page, `tfjs-${n}`, 'profileKernels', what, FIXTURE, what === 'forward' ? forward : train, opts.reps);
          got.set(`${what}|${n}`, [...(got.get(`${what}|${n}`) ?? []), p]);
        }
      }
      load.push(loadavg()[0]!);
    }
    const part = (what: 'forward' | 'train') => {
      const one = mean(got.get(`${what}|1`)!);
      const two = mean(got.get(`${what}|2`)!);
      return { wallMs1: one.wallMs, wallMs2: two.wallMs, kernels: rows(one, two) };
    };
    return {
      bench: 'browser-profile',
      chromium: h.browser.version(),
      load1min: load,
      rounds: opts.rounds,
      reps: opts.reps,
      forward: { shape: `${FIXTURE} b${forward.batch}×s${forward.seq}`, ...part('forward') },
      train: { shape: `L2 H128 b${train.batch}×s${train.seq}`, ...part('train') },
    };
  } finally {
    await h.close();
  }
}

export type BrowserProfileResult = Awaited<ReturnType<typeof runBrowserProfileBench>>;

function table(title: string, p: BrowserProfileResult['forward'], top: number): string[] {
  const sum1 = p.kernels.reduce((a, r) => a + r.ms1, 0);
  const sum2 = p.kernels.reduce((a, r) => a + r.ms2, 0);
  return [
    `### ${title}: ${p.shape}`,
    '',
    `Wall (profiled) ${fmt(p.wallMs1, 1)} ms at 1 thread, ${fmt(p.wallMs2, 1)} ms at 2 (${fmt(p.wallMs1 / p.wallMs2, 2)}×); kernels sum to ${fmt(sum1, 1)} / ${fmt(sum2, 1)} ms.`,
    '',
    '| kernel | calls | ms, 1 thread | share | ms, 2 threads | 1→2 speed-up |',
    '|---|---|---|---|---|---|',
    ...p.kernels
      .slice(0, top)
      .map(
        (r) =>
          `| ${r.kernel} | ${fmt(r.calls)} | ${fmt(r.ms1, 1)} | ${fmt((100 * r.ms1) / sum1, 1)} % | ${fmt(r.ms2, 1)} | ${r.ms2 > 0 ? fmt(r.ms1 / r.ms2, 2) : '–'}× |`,
      ),
    '',
  ];
}

export function browserProfileMarkdown(r: BrowserProfileResult, top = 16): string {
  return [
    `Chromium ${r.chromium}; tf.profile kernel ms per pass, mean of ${r.rounds} interleaved rounds × ${r.reps} reps; 1-min load ${r.load1min.map((x) => fmt(x, 1)).join(' → ')}.`,
    '',
    ...table('Forward', r.forward, top),
    ...table('Train step', r.train, top),
  ].join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const o = parseRoundArgs(process.argv.slice(2), { reps: 2 });
  const r = await runBrowserProfileBench({ rounds: o.quick ? 1 : Math.min(o.rounds, 2), reps: o.reps, quick: o.quick });
  writeBenchReport('browser-profile', r, browserProfileMarkdown(r));
}
