import * as Comlink from 'comlink';
import type { DataWorkerApi, TokenizerSpec } from '../../workers/data.worker.ts';
import type { BuildProgress } from '../../src/engine/data/buildShards.ts';
import { IdbShardStore } from '../../src/engine/platform/browser/idbShardStore.ts';
import { buildShards, shardKeyFor } from '../../src/engine/data/buildShards.ts';
import { sourceFromSpec } from '../../src/engine/data/sourceSpec.ts';
import { getTask } from '../../datasets/glueTasks.ts';
import { BertTokenizer } from '../../src/engine/tokenizer/bertTokenizer.ts';
import { sha256Hex } from '../../src/engine/data/sha256.ts';
import type { SourceSpec } from '../../src/engine/data/sourceSpec.ts';
import type { SplitName } from '../../datasets/types.ts';

/**
 * Test-only page for the data pipeline in a real browser: the data worker (comlink) over the dev server's
 * /mirror/ (GLUE TSVs and Hub Parquet), a zip served from tests/data, and IndexedDB throughput.
 */

const newDataWorker = () => new Worker(new URL('../../workers/data.worker.ts', import.meta.url), { type: 'module' });
const worker = Comlink.wrap<DataWorkerApi>(newDataWorker());
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

/** Progress callbacks come over their own MessagePort, so the last one can land after the build's reply. */
async function untilDone(events: BuildProgress[], timeoutMs = 5000): Promise<BuildProgress[]> {
  const t0 = performance.now();
  while (events.at(-1)?.phase !== 'done') {
    if (performance.now() - t0 > timeoutMs) throw new Error(`no 'done' progress event within ${timeoutMs} ms (last: ${JSON.stringify(events.at(-1))})`);
    await new Promise((r) => setTimeout(r, 10));
  }
  return events;
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
    const m = await worker.build(
      await spec(kind),
      task,
      split,
      await tokenizer(),
      { maxLength, shardSize },
      Comlink.proxy((p: BuildProgress) => void events.push(p)),
    );
    const ms = performance.now() - t0;
    return { ms, manifest: m, events: await untilDone(events) };
  },

  /**
   * A build in a second data worker that is terminated (as a closed tab would) once `killAfter` shards are
   * stored; then the page's worker builds again, and finally the cache is cleared and built uninterrupted.
   */
  async killMidBuild(task: string, split: SplitName, maxLength: number, shardSize: number, killAfter: number) {
    const src = await spec('glue-url');
    const t = await tokenizer();
    await worker.deleteCache(task, split);
    const raw = newDataWorker();
    const victim = Comlink.wrap<DataWorkerApi>(raw);
    let killedAt = -1;
    await new Promise<void>((resolve, reject) => {
      victim
        .build(
          src,
          task,
          split,
          t,
          { maxLength, shardSize },
          Comlink.proxy((p: BuildProgress) => {
            if (killedAt < 0 && p.shardsWritten >= killAfter) {
              killedAt = p.shardsWritten;
              raw.terminate(); // its build promise never settles now
              resolve();
            }
          }),
        )
        .then(() => reject(new Error(`the build finished before ${killAfter} shards were reported`)), reject);
    });
    const events: BuildProgress[] = [];
    const resumed = await worker.build(
      src,
      task,
      split,
      t,
      { maxLength, shardSize },
      Comlink.proxy((p: BuildProgress) => void events.push(p)),
    );
    await worker.deleteCache(task, split);
    const clean = await worker.build(src, task, split, t, { maxLength, shardSize });
    await worker.deleteCache(task, split);
    return {
      killedAt,
      resumedLast: (await untilDone(events)).at(-1),
      resumed: resumed.shards.map((x) => x.checksum),
      clean: clean.shards.map((x) => x.checksum),
      rows: [resumed.rows, clean.rows],
    };
  },

  /**
   * Real IndexedDB in the page with its `put` failing as a full quota does after `okShards` shards: the
   * error names the shard, earlier shards still verify, and a later build resumes.
   */
  async quotaFull(task: string, split: SplitName, shardSize: number, okShards: number) {
    const t = await tokenizer();
    const tok = BertTokenizer.fromVocabText(t.vocabText, { doLowerCase: t.doLowerCase });
    const source = sourceFromSpec(await spec('glue-url'));
    const store = await IdbShardStore.open('taskscope-quota-test');
    const def = getTask(task);
    const key = await shardKeyFor(def, split, tok, 128);
    await store.deleteDataset(key);
    const proto = IDBObjectStore.prototype;
    const put = proto.put;
    let shardPuts = 0;
    proto.put = function (this: IDBObjectStore, ...args: Parameters<IDBObjectStore['put']>) {
      if (this.name === 'shards' && ++shardPuts > okShards) throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
      return put.apply(this, args);
    };
    let message = '';
    try {
      await buildShards(source, def, split, tok, { store, maxLength: 128, shardSize });
    } catch (e) {
      message = `${(e as Error).name}: ${(e as Error).message}`;
    } finally {
      proto.put = put;
    }
    const partial = await store.getManifest(key);
    const verified: boolean[] = [];
    for (const e of partial?.shards ?? []) {
      const bytes = await store.getShard(key, e.index);
      verified.push(!!bytes && (await sha256Hex(bytes)) === e.checksum);
    }
    const done = await buildShards(source, def, split, tok, { store, maxLength: 128, shardSize });
    await store.deleteDataset(key);
    store.close();
    return {
      message,
      keptShards: partial?.shards.length ?? 0,
      complete: partial?.complete ?? null,
      verified,
      finalRows: done.rows,
      finalComplete: done.complete,
    };
  },

  cached: () => worker.cached(),
  cacheSize: () => worker.cacheSize(),
  deleteCache: (task: string, split?: SplitName) => worker.deleteCache(task, split),

  async batches(keys: { task: string; split: string; variant: string }[], n: number) {
    const r = await worker.openReader(keys as never, { batchSize: 8, seed: 1 });
    const out = [];
    for (let i = 0; i < n; i++) {
      const b = await worker.nextBatch(r.id);
      out.push({
        task: b.task,
        batchSize: b.batchSize,
        seqLen: b.seqLen,
        ids: b.inputIds.length,
        maskSum: b.attentionMask.reduce((a, x) => a + x, 0),
        uids: b.uids,
      });
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
