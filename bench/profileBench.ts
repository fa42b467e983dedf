/**
 * Where a training step's time goes, per tfjs kernel: tf.profile around Trainer.trainStep() (the step of
 * bench/trainBench.ts: random-init encoder, one 2-class head, dropout 0.1, AdamW, clip 1, random ids) after
 * `warmup` steps, summed by kernel name over the profiled steps. Writes bench/results/profile-<backend>.md.
 *
 * The warm-up is several steps, not one: the first steps grow the wasm heap, and a kernel whose output is
 * placed in freshly grown memory pays for first touching it. The embedding's 30,522 × 128 ScatterNd took
 * ~100 ms in steps 2–3 (output at the top of the heap) and ~1.6 ms from step 4 on (a reused block), on a
 * loaded 2-core machine: a one-step warm-up charged it 10 % of the step.
 *
 *   npm run bench -- profile
 *   npx tsx bench/profileBench.ts [--backend wasm] [--layers 2] [--hidden 128] [--heads 2] [--batch 16] [--seq 128] [--warmup 4] [--steps 2] [--top 15]
 */
import * as tf from '@tensorflow/tfjs';
import { mkdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { initNodeBackend } from '../src/cli/nodeBackend.ts';
import { buildEncoder, buildMultiTaskModel } from '../src/engine/model/modelFactory.ts';
import { Trainer } from '../src/engine/train/trainer.ts';
import { fmt } from './stats.ts';
import { benchExperiment, randomSplit, TASK, VOCAB, type NamedShape } from './trainBench.ts';

export interface ProfileOptions {
  backend: 'wasm' | 'cpu';
  layers: number;
  hidden: number;
  heads: number;
  batch: number;
  seq: number;
  warmup: number;
  steps: number;
  top: number;
}

export interface KernelRow {
  kernel: string;
  ms: number;
  calls: number;
  share: number;
}

export async function runProfileBench(o: ProfileOptions) {
  await initNodeBackend(o.backend);
  const shape: NamedShape = {
    name: `L${o.layers} H${o.hidden} A${o.heads} I${4 * o.hidden}, b${o.batch}×s${o.seq}`,
    layers: o.layers,
    hidden: o.hidden,
    heads: o.heads,
    intermediate: 4 * o.hidden,
    batch: o.batch,
    seq: o.seq,
    classes: 2,
    onCpu: true,
  };
  const exp = benchExperiment(shape, 'adamw');
  const model = buildMultiTaskModel(exp, buildEncoder(exp, { vocabSize: VOCAB }));
  const trainer = new Trainer({ experiment: exp, model, data: { [TASK]: { train: randomSplit(shape, o.batch * (o.warmup + o.steps)) } } });
  const byKernel = new Map<string, { ms: number; calls: number }>();
  let wallMs = 0;
  try {
    for (let i = 0; i < o.warmup; i++) await trainer.trainStep();
    for (let i = 0; i < o.steps; i++) {
      const t = performance.now();
      const prof = await tf.profile(async () => {
        await trainer.trainStep();
        return [];
      });
      wallMs += performance.now() - t;
      for (const k of prof.kernels) {
        // A tf.customGrad op is profiled as one more entry wrapping its own kernels: count only real kernels.
        if (!tf.getKernel(k.name, o.backend)) continue;
        const e = byKernel.get(k.name) ?? { ms: 0, calls: 0 };
        e.ms += k.kernelTimeMs as number;
        e.calls++;
        byKernel.set(k.name, e);
      }
    }
  } finally {
    trainer.dispose();
    model.dispose();
  }
  const kernelMs = [...byKernel.values()].reduce((a, e) => a + e.ms, 0);
  const rows: KernelRow[] = [...byKernel]
    .map(([kernel, e]) => ({ kernel, ms: e.ms / o.steps, calls: e.calls / o.steps, share: e.ms / kernelMs }))
    .sort((a, b) => b.ms - a.ms);
  return {
    bench: 'train-step-profile',
    backend: o.backend,
    shape: shape.name,
    warmup: o.warmup,
    steps: o.steps,
    stepMs: wallMs / o.steps,
    kernelMs: kernelMs / o.steps,
    rows,
    date: new Date().toISOString(),
  };
}

export function profileMarkdown(res: Awaited<ReturnType<typeof runProfileBench>>, top: number): string {
  const lines = [
    `## Train step kernel profile, tfjs-${res.backend}, ${res.shape} (${res.date.slice(0, 16)}Z)`,
    '',
    `Per step (mean of ${res.steps} profiled steps after ${res.warmup} warm-up steps): ${fmt(res.stepMs, 0)} ms wall under tf.profile, ${fmt(res.kernelMs, 0)} ms inside registered kernels (tf.customGrad wrappers left out: their time is their kernels').`,
    '',
    '| kernel | ms / step | calls / step | share of kernel time |',
    '|---|---:|---:|---:|',
    ...res.rows.slice(0, top).map((r) => `| ${r.kernel} | ${fmt(r.ms, 1)} | ${fmt(r.calls, 0)} | ${fmt(100 * r.share, 1)} % |`),
  ];
  const rest = res.rows.slice(top);
  if (rest.length)
    lines.push(
      `| (${rest.length} others) | ${fmt(
        rest.reduce((a, r) => a + r.ms, 0),
        1,
      )} | ${fmt(
        rest.reduce((a, r) => a + r.calls, 0),
        0,
      )} | ${fmt(100 * rest.reduce((a, r) => a + r.share, 0), 1)} % |`,
    );
  return `${lines.join('\n')}\n`;
}

export function parseProfileArgs(argv: string[]): ProfileOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      backend: { type: 'string', default: 'wasm' },
      layers: { type: 'string', default: '2' },
      hidden: { type: 'string', default: '128' },
      heads: { type: 'string', default: '2' },
      batch: { type: 'string', default: '16' },
      seq: { type: 'string', default: '128' },
      warmup: { type: 'string', default: '4' },
      steps: { type: 'string', default: '2' },
      top: { type: 'string', default: '15' },
    },
  });
  const int = (name: keyof typeof values) => {
    const n = Number(values[name]);
    if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be an integer ≥ 1, got "${values[name]}"`);
    return n;
  };
  if (values.backend !== 'wasm' && values.backend !== 'cpu') throw new Error(`--backend must be wasm or cpu, got "${values.backend}"`);
  return {
    backend: values.backend,
    layers: int('layers'),
    hidden: int('hidden'),
    heads: int('heads'),
    batch: int('batch'),
    seq: int('seq'),
    warmup: int('warmup'),
    steps: int('steps'),
    top: int('top'),
  };
}

export async function reportProfileBench(o: ProfileOptions) {
  const res = await runProfileBench(o);
  const md = profileMarkdown(res, o.top);
  console.log(md);
  mkdirSync(resolve(import.meta.dirname, 'results'), { recursive: true });
  writeFileSync(resolve(import.meta.dirname, `results/profile-${o.backend}.md`), md);
  return res;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await reportProfileBench(parseProfileArgs(process.argv.slice(2)));
}
