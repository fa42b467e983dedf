import * as Comlink from 'comlink';
import type { DataWorkerApi, TokenizerSpec } from '../../workers/data.worker.ts';
import type { BuildProgress } from '../../src/engine/data/buildShards.ts';
import { IdbShardStore } from '../../src/engine/data/idbShardStore.ts';
import { sha256Hex } from '../../src/engine/data/sha256.ts';
import type { SourceSpec } from '../../src/engine/data/sourceSpec.ts';
import type { SplitName } from '../../datasets/types.ts';

/**
 * Test-only page for the data pipeline in a real browser: the data worker (comlink) over the dev server's
 * /mirror/ (GLUE TSVs and Hub Parquet), a zip served from tests/data, and IndexedDB throughput.
 */

const worker = Comlink.wrap<DataWorkerApi>(new Worker(new URL('../../workers/data.worker.ts', import.meta.url), { type: 'module' }));
const mirror = (path: string) => new URL(`/mirror/${path}`, location.href).href;
let tok: TokenizerSpec | undefined;
async function tokenizer(): Promise<TokenizerSpec> {
  tok ??= { vocabText: await (await fetch(mirror('models/bert-tiny-uncased/vocab.txt'))).text(), doLowerCase: true };
  return tok;
}

async function spec(kind: 'hub' | 'glue-url' | 'zip'): Promise<SourceSpec> {
  if (kind === 'hub') return { kind: 'hub', mirror: mirror('hub') };
  if (kind === 'glue-url') return { kind: 'glue-url', base: mirror('glue') };
  const blob = await (await fetch(new URL('/tests/data/zips/glue-mini.zip', location.href))).blob();
  return { kind: 'zip', file: blob, name: 'glue-mini.zip' };
}

const api = {
  tasks: () => worker.tasks(),

  async check(kind: 'hub' | 'glue-url' | 'zip', task: string) {
    const t0 = performance.now();
    const res = await worker.check(await spec(kind), task);
    return { ms: performance.now() - t0, res };
  },

  async build(kind: 'hub' | 'glue-url', task: string, split: SplitName, maxLength: number, shardSize: number) {
    const events: BuildProgress[] = [];
    const t0 = performance.now();
    const m = await worker.build(await spec(kind), task, split, await tokenizer(), { maxLength, shardSize }, Comlink.proxy((p: BuildProgress) => void events.push(p)));
    return { ms: performance.now() - t0, manifest: m, events };
  },

  cached: () => worker.cached(),
  cacheSize: () => worker.cacheSize(),
  deleteCache: (task: string, split?: SplitName) => worker.deleteCache(task, split),

  async batches(keys: { task: string; split: string; variant: string }[], n: number) {
    const r = await worker.openReader(keys as never, { batchSize: 8, seed: 1 });
    const out = [];
    for (let i = 0; i < n; i++) {
      const b = await worker.nextBatch(r.id);
      out.push({ task: b.task, batchSize: b.batchSize, seqLen: b.seqLen, ids: b.inputIds.length, maskSum: b.attentionMask.reduce((a, x) => a + x, 0), uids: b.uids });
    }
    const position = await worker.position(r.id);
    await worker.closeReader(r.id);
    return { info: r, out, position };
  },

  /** Writes and reads back (with SHA-256 checks) `count` shards of `mb` MB through the IndexedDB store. */
  async idbThroughput(count: number, mb: number) {
    const store = await IdbShardStore.open('taskscope-data-bench');
    const key = { task: 'SST-2', split: 'train', variant: 'bench' } as const;
    const bytes = new Uint8Array(mb * 1e6);
    for (let i = 0; i < bytes.length; i += 65536) crypto.getRandomValues(bytes.subarray(i, Math.min(bytes.length, i + 65536)));
    const sum = await sha256Hex(bytes);
    const manifest = { ...key, format: 'taskscope-shards/1', shards: [] } as never;
    let t0 = performance.now();
    for (let i = 0; i < count; i++) await store.commitShard(key, i, bytes, manifest);
    const writeMs = performance.now() - t0;
    t0 = performance.now();
    for (let i = 0; i < count; i++) {
      const b = await store.getShard(key, i);
      if (!b || (await sha256Hex(b)) !== sum) throw new Error(`shard ${i} read back differently`);
    }
    const readMs = performance.now() - t0;
    await store.deleteDataset(key);
    store.close();
    const total = (count * bytes.length) / 1e6;
    return { mb: total, writeMBps: total / (writeMs / 1000), readVerifyMBps: total / (readMs / 1000) };
  },
};

export type DataHarnessApi = typeof api;

declare global {
  interface Window {
    __taskscopeData?: DataHarnessApi;
  }
}

window.__taskscopeData = api;
