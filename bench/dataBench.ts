/**
 * Data pipeline throughput (Node half): parse(+tokenize) rows/s for SST-2 train from the GLUE TSV and QQP dev
 * from the Hub Parquet file, Taskscope's BertTokenizer side by side with @huggingface/tokenizers on the same
 * parsed rows (interleaved rounds, medians), and shard write/read MB/s for the Node folder store.
 *   npx tsx bench/dataBench.ts [--rounds 3]
 * The browser half (IndexedDB MB/s, in-browser parse rate) runs the same engine code from the browser harness.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { Tokenizer } from '@huggingface/tokenizers';
import { getTask } from '../datasets/glueTasks.ts';
import type { SplitName } from '../datasets/types.ts';
import { buildShards } from '../src/engine/data/buildShards.ts';
import { parquetSourceFromPath, tsvSourceFromPath } from '../src/engine/platform/node/nodeFiles.ts';
import { FolderShardStore } from '../src/engine/platform/node/nodeShardStore.ts';
import { sha256Hex } from '../src/engine/data/sha256.ts';
import { decodeShard } from '../src/engine/data/shardFormat.ts';
import { encodeRows, groupRows } from '../src/engine/data/shardRows.ts';
import type { ShardKey } from '../src/engine/data/shardStore.ts';
import type { DataSource } from '../src/engine/data/types.ts';
import { BertTokenizer } from '../src/engine/tokenizer/bertTokenizer.ts';
import { assetsDir, glueDir, hubDir, repoRoot } from '../tests/helpers/shared.ts';
import { median } from './stats.ts';

export interface DataBenchOptions {
  rounds?: number;
  maxLength?: number;
  /** Where to write the JSON; null to skip (default bench/results/data.json). */
  outFile?: string | null;
  log?: (line: string) => void;
}

interface Rate {
  medianMs: number;
  roundsMs: number[];
  rowsPerSec: number;
}

export interface ParseBenchResult {
  task: string;
  split: string;
  source: 'tsv' | 'parquet';
  file: string;
  rows: number;
  fileBytes: number;
  parseOnly: Rate;
  /** Parse + Taskscope BertTokenizer, fresh tokenizer each round (cold chunk cache, as a first build). */
  parseTokenizeTaskscope: Rate;
  /** Parse + @huggingface/tokenizers on the same rows. */
  parseTokenizeHuggingface: Rate;
  /** rows/s Taskscope ÷ rows/s huggingface (> 1: Taskscope faster). */
  ratio: number;
}

export interface DataBenchResult {
  parse: ParseBenchResult[];
  shards: {
    task: string;
    split: string;
    shards: number;
    bytes: number;
    /** Writing pre-encoded shards + manifest updates through FolderShardStore.commitShard. */
    writeMBps: number;
    /** getShard + SHA-256 verify + decode, every shard. */
    readVerifyMBps: number;
    /** The whole `buildShards` (parse, tokenize, encode, checksum, write), rows/s. */
    buildRowsPerSec: number;
  };
  maxLength: number;
  rounds: number;
  node: string;
  date: string;
}

async function timeRows(fn: () => Promise<number>): Promise<{ ms: number; rows: number }> {
  const t0 = performance.now();
  const rows = await fn();
  return { ms: performance.now() - t0, rows };
}

export async function runDataBench(opts: DataBenchOptions = {}): Promise<DataBenchResult> {
  const rounds = opts.rounds ?? 3;
  const maxLength = opts.maxLength ?? 128;
  const log = opts.log ?? ((line: string) => console.log(line));
  const outFile = opts.outFile === undefined ? resolve(repoRoot, 'bench/results/data.json') : opts.outFile;
  const modelDir = resolve(assetsDir, 'models/bert-tiny-uncased');
  const vocabText = readFileSync(resolve(modelDir, 'vocab.txt'), 'utf8');
  const hf = new Tokenizer(
    JSON.parse(readFileSync(resolve(modelDir, 'tokenizer.json'), 'utf8')),
    JSON.parse(readFileSync(resolve(modelDir, 'tokenizer_config.json'), 'utf8')),
  );
  const newOurs = () => BertTokenizer.fromVocabText(vocabText, { doLowerCase: true });
  let sink = 0;

  const cases: { source: DataSource; task: string; split: SplitName; file: string }[] = [
    { source: await tsvSourceFromPath(glueDir), task: 'SST-2', split: 'train', file: resolve(glueDir, 'SST-2/train.tsv') },
    {
      source: parquetSourceFromPath(hubDir),
      task: 'QQP',
      split: 'dev',
      file: resolve(hubDir, 'datasets/nyu-mll/glue/resolve/main/qqp/validation-00000-of-00001.parquet'),
    },
  ];
  const parse: ParseBenchResult[] = [];
  for (const c of cases) {
    const task = getTask(c.task);
    const parseOnly = async () => {
      let n = 0;
      for await (const r of c.source.open(task, c.split)) {
        n++;
        sink += r.textA.length;
      }
      return n;
    };
    const withOurs = async () => {
      const tok = newOurs();
      let n = 0;
      for await (const r of c.source.open(task, c.split)) {
        n++;
        sink += tok.encode(r.textA, r.textB ?? null, { maxLength, padding: 'none' }).length;
      }
      return n;
    };
    const withHf = async () => {
      let n = 0;
      for await (const r of c.source.open(task, c.split)) {
        n++;
        sink += hf.encode(r.textA, r.textB ? { text_pair: r.textB, return_token_type_ids: true } : { return_token_type_ids: true }).ids.length;
      }
      return n;
    };
    const times = { parse: [] as number[], ours: [] as number[], hf: [] as number[] };
    let rows = -1;
    for (let round = 0; round < rounds; round++) {
      const steps: [keyof typeof times, () => Promise<number>][] = [
        ['parse', parseOnly],
        ['ours', withOurs],
        ['hf', withHf],
      ];
      // Alternate the order so background load and warm-up fall on every variant.
      if (round % 2 === 1) steps.reverse();
      for (const [key, fn] of steps) {
        const t = await timeRows(fn);
        if (rows >= 0 && t.rows !== rows) throw new Error(`row count changed between runs: ${t.rows} vs ${rows}`);
        rows = t.rows;
        times[key].push(t.ms);
      }
      log(
        `${c.task} ${c.split} (${c.source.kind}) round ${round + 1}/${rounds}: parse ${times.parse[round].toFixed(0)} ms, +taskscope ${times.ours[round].toFixed(0)} ms, +huggingface ${times.hf[round].toFixed(0)} ms`,
      );
    }
    const rate = (ms: number[]): Rate => ({ roundsMs: ms, medianMs: median(ms), rowsPerSec: (rows / median(ms)) * 1000 });
    const res: ParseBenchResult = {
      task: c.task,
      split: c.split,
      source: c.source.kind,
      file: c.file,
      rows,
      fileBytes: readFileSync(c.file).byteLength,
      parseOnly: rate(times.parse),
      parseTokenizeTaskscope: rate(times.ours),
      parseTokenizeHuggingface: rate(times.hf),
      ratio: median(times.hf) / median(times.ours),
    };
    parse.push(res);
  }

  // Shards: SST-2 train, 4096 rows per shard.
  const tmp = mkdtempSync(join(tmpdir(), 'taskscope-databench-'));
  let shards: DataBenchResult['shards'];
  try {
    const sst = cases[0];
    const tok = newOurs();
    const key: ShardKey = { task: 'SST-2', split: 'train', variant: 'bench' };
    const encoded: Uint8Array[] = [];
    for await (const g of groupRows(sst.source.open(getTask('SST-2'), 'train'), 4096)) encoded.push(encodeRows(g.rows, tok, maxLength).bytes);
    const bytes = encoded.reduce((n, b) => n + b.byteLength, 0);
    const writeMs: number[] = [];
    const readMs: number[] = [];
    for (let round = 0; round < rounds; round++) {
      const store = new FolderShardStore(join(tmp, `w${round}`));
      const manifest = { ...key, format: 'taskscope-shards/1', shards: [] } as never;
      let t0 = performance.now();
      for (let i = 0; i < encoded.length; i++) await store.commitShard(key, i, encoded[i], manifest);
      writeMs.push(performance.now() - t0);
      const sums = await Promise.all(encoded.map((b) => sha256Hex(b)));
      t0 = performance.now();
      for (let i = 0; i < encoded.length; i++) {
        const b = (await store.getShard(key, i))!;
        if ((await sha256Hex(b)) !== sums[i]) throw new Error(`shard ${i} read back differently`);
        sink += decodeShard(b, `shard ${i}`).rows;
      }
      readMs.push(performance.now() - t0);
    }
    const buildStore = new FolderShardStore(join(tmp, 'build'));
    const t0 = performance.now();
    const m = await buildShards(sst.source, getTask('SST-2'), 'train', newOurs(), { store: buildStore, maxLength });
    const buildMs = performance.now() - t0;
    shards = {
      task: 'SST-2',
      split: 'train',
      shards: encoded.length,
      bytes,
      writeMBps: bytes / 1e6 / (median(writeMs) / 1000),
      readVerifyMBps: bytes / 1e6 / (median(readMs) / 1000),
      buildRowsPerSec: (m.rows / buildMs) * 1000,
    };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  if (sink === 0) throw new Error('nothing was read');

  const result: DataBenchResult = { parse, shards, maxLength, rounds, node: process.version, date: new Date().toISOString() };
  log('');
  log(
    `${'case'.padEnd(24)}${'rows'.padStart(8)}${'parse rows/s'.padStart(15)}${'+taskscope'.padStart(13)}${'+huggingface'.padStart(14)}${'ratio'.padStart(8)}`,
  );
  for (const p of parse) {
    const f = (x: number) => Math.round(x).toLocaleString('en-US');
    log(
      `${`${p.task} ${p.split} (${p.source})`.padEnd(24)}${String(p.rows).padStart(8)}${f(p.parseOnly.rowsPerSec).padStart(15)}${f(p.parseTokenizeTaskscope.rowsPerSec).padStart(13)}${f(p.parseTokenizeHuggingface.rowsPerSec).padStart(14)}${p.ratio.toFixed(2).padStart(7)}x`,
    );
  }
  log(
    `shards (SST-2 train, ${shards.shards} × 4096 rows, ${(shards.bytes / 1e6).toFixed(2)} MB): write ${shards.writeMBps.toFixed(0)} MB/s, read+verify ${shards.readVerifyMBps.toFixed(0)} MB/s; full build ${Math.round(shards.buildRowsPerSec).toLocaleString('en-US')} rows/s`,
  );
  if (outFile) {
    mkdirSync(dirname(outFile), { recursive: true });
    writeFileSync(outFile, JSON.stringify(result, null, 2) + '\n');
    log(`wrote ${outFile}`);
  }
  return result;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const i = process.argv.indexOf('--rounds');
  await runDataBench({ rounds: i >= 0 ? Number(process.argv[i + 1]) : undefined });
}
