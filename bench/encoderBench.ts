/**
 * Encoder forward throughput (tokens/s) at batch 32 × seq 128 on the BERT-Tiny-shaped fixture checkpoint,
 * for tfjs cpu and wasm in Node and PyTorch CPU on the same shapes, interleaved round by round in one run
 * (the machine is shared and noisy: only ratios inside one run mean anything).
 *
 *   npx tsx bench/encoderBench.ts [--rounds 3] [--reps 3] [--batch 32] [--seq 128]
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { mkdirSync, writeFileSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { dirSource } from '../src/engine/platform/node/nodeSource.ts';
import { loadBertCheckpoint } from '../src/engine/checkpoint/hfFolder.ts';
import { BertEncoder } from '../src/engine/model/bertEncoder.ts';
import { TorchPeer } from './torchPeer.ts';
import { fmt, median } from './stats.ts';

import { fixtureModelDir } from '../tests/helpers/shared.ts';
export const BENCH_MODEL = fixtureModelDir('bert-tiny-arch-random');

async function timeTfjs(backend: 'cpu' | 'wasm', ckpt: Awaited<ReturnType<typeof loadBertCheckpoint>>, B: number, T: number, reps: number) {
  await tf.setBackend(backend);
  await tf.ready();
  const model = BertEncoder.fromCheckpoint(ckpt);
  const V = ckpt.config.vocabSize;
  const ids = tf.tidy(() => tf.cast(tf.mul(tf.randomUniform([B, T], 0, 1, 'float32', 7), V - 1), 'int32')) as tf.Tensor2D;
  const types = tf.zeros([B, T], 'int32') as tf.Tensor2D;
  const mask = tf.ones([B, T], 'int32') as tf.Tensor2D;
  const once = async () => {
    const p = tf.tidy(() => model.forward({ inputIds: ids, tokenTypeIds: types, attentionMask: mask }).pooled);
    await p.data();
    p.dispose();
  };
  await once(); // warm-up (kernel compilation, allocation)
  const ms: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t = performance.now();
    await once();
    ms.push(performance.now() - t);
  }
  tf.dispose([ids, types, mask]);
  model.dispose();
  return ms;
}

export async function runEncoderBench(opts: { rounds: number; reps: number; batch: number; seq: number }) {
  const ckpt = await loadBertCheckpoint(dirSource(BENCH_MODEL));
  const config = JSON.parse(readFileSync(resolve(BENCH_MODEL, 'config.json'), 'utf8'));
  const torch = TorchPeer.available() ? TorchPeer.start() : null;
  const samples: Record<string, number[]> = { 'tfjs-wasm': [], 'tfjs-cpu': [], ...(torch ? { 'pytorch-cpu': [] } : {}) };
  let torchVersion = '';
  for (let r = 0; r < opts.rounds; r++) {
    samples['tfjs-wasm'].push(...(await timeTfjs('wasm', ckpt, opts.batch, opts.seq, opts.reps)));
    samples['tfjs-cpu'].push(...(await timeTfjs('cpu', ckpt, opts.batch, opts.seq, Math.max(1, Math.ceil(opts.reps / 3)))));
    if (torch) {
      const a = await torch.request({ op: 'forward', config, batch: opts.batch, seq: opts.seq, reps: opts.reps, warmup: 1 });
      samples['pytorch-cpu'].push(...a.ms);
      torchVersion = `${a.torch} (${a.threads} threads)`;
    }
    process.stderr.write(`round ${r + 1}/${opts.rounds} done\n`);
  }
  torch?.close();
  const tokens = opts.batch * opts.seq;
  const rows = Object.entries(samples).map(([name, ms]) => ({ name, medianMs: median(ms), tokensPerSec: tokens / (median(ms) / 1000), n: ms.length }));
  const wasm = rows.find((r) => r.name === 'tfjs-wasm')!;
  const result = {
    bench: 'encoder-forward',
    model: 'bert-tiny-arch-random (L2 H128 A2 I512, vocab 30522)',
    batch: opts.batch,
    seq: opts.seq,
    torch: torchVersion || 'not available',
    node: process.version,
    rows: rows.map((r) => ({ ...r, ratioVsWasm: r.tokensPerSec / wasm.tokensPerSec })),
  };
  return result;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({
    options: {
      rounds: { type: 'string', default: '3' },
      reps: { type: 'string', default: '3' },
      batch: { type: 'string', default: '32' },
      seq: { type: 'string', default: '128' },
    },
  });
  const res = await runEncoderBench({ rounds: Number(values.rounds), reps: Number(values.reps), batch: Number(values.batch), seq: Number(values.seq) });
  console.log(`encoder forward, ${res.model}, batch ${res.batch} × seq ${res.seq}, PyTorch ${res.torch}`);
  console.log('backend        median ms   tokens/s   vs tfjs-wasm');
  for (const r of res.rows)
    console.log(`${r.name.padEnd(14)} ${fmt(r.medianMs, 1).padStart(9)} ${fmt(r.tokensPerSec).padStart(10)}   ${fmt(r.ratioVsWasm, 2)}×`);
  mkdirSync(resolve(import.meta.dirname, 'results'), { recursive: true });
  writeFileSync(resolve(import.meta.dirname, 'results/encoder.json'), JSON.stringify(res, null, 2));
}
