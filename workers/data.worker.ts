import * as Comlink from 'comlink';
import { GLUE_TASKS, getTask } from '../datasets/glueTasks.ts';
import type { SplitName, TaskName } from '../datasets/types.ts';
import { BatchReader, type Batch, type BatchPosition, type BatchReaderOptions } from '../src/engine/data/batchReader.ts';
import { buildShards, type BuildProgress } from '../src/engine/data/buildShards.ts';
import { checkTask, type SplitCheck } from '../src/engine/data/checkSplits.ts';
import { IdbShardStore } from '../src/engine/platform/browser/idbShardStore.ts';
import { ShardReader, type RebuildFrom } from '../src/engine/data/shardReader.ts';
import type { ShardKey, ShardManifest } from '../src/engine/data/shardStore.ts';
import { sourceFromSpec, type SourceSpec } from '../src/engine/data/sourceSpec.ts';
import { BertTokenizer } from '../src/engine/tokenizer/bertTokenizer.ts';

/**
 * The data worker: reads GLUE sources, builds token shards into IndexedDB and serves batches. A thin adapter;
 * all logic is in src/engine/data.
 */

export interface TokenizerSpec {
  vocabText: string;
  doLowerCase: boolean;
}

export interface TaskSummary {
  name: TaskName;
  type: string;
  labels: readonly string[] | null;
  metrics: readonly string[];
  splits: { name: SplitName; labelled: boolean; rows?: number }[];
}

export interface CacheSize {
  /** Bytes of all cached shards (from the manifests). */
  shardBytes: number;
  /** navigator.storage.estimate(), where available. */
  usage?: number;
  quota?: number;
}

let storePromise: Promise<IdbShardStore> | undefined;
const store = () => (storePromise ??= IdbShardStore.open());
const tokenizers = new Map<string, BertTokenizer>();
const readers = new Map<number, BatchReader>();
let nextReaderId = 1;

/** One tokenizer per (vocab, casing): its chunk cache then serves every build and rebuild. */
function tokenizerFor(spec: TokenizerSpec): BertTokenizer {
  const id = `${spec.doLowerCase}\n${spec.vocabText}`;
  let t = tokenizers.get(id);
  if (!t) {
    t = BertTokenizer.fromVocabText(spec.vocabText, { doLowerCase: spec.doLowerCase });
    tokenizers.set(id, t);
  }
  return t;
}

function transferBatch(b: Batch): Batch {
  return Comlink.transfer(b, [b.inputIds.buffer, b.tokenTypeIds.buffer, b.attentionMask.buffer, b.labels.buffer] as ArrayBuffer[]);
}

const api = {
  tasks(): TaskSummary[] {
    return GLUE_TASKS.map((t) => ({
      name: t.name,
      type: t.type,
      labels: t.labels,
      metrics: t.metrics,
      splits: t.splits.map((s) => ({ name: s.name, labelled: s.labelled, rows: s.rows })),
    }));
  },

  /** Row counts and every malformed row of a task's splits in a source. */
  async check(spec: SourceSpec, task: string): Promise<SplitCheck[]> {
    return checkTask(sourceFromSpec(spec), getTask(task));
  },

  async build(
    spec: SourceSpec,
    task: string,
    split: SplitName,
    tok: TokenizerSpec,
    opts: { maxLength: number; shardSize?: number; resume?: boolean },
    onProgress?: (p: BuildProgress) => void,
  ): Promise<ShardManifest> {
    return buildShards(sourceFromSpec(spec), getTask(task), split, tokenizerFor(tok), { ...opts, store: await store(), onProgress });
  },

  async cached(): Promise<ShardManifest[]> {
    return (await store()).listManifests();
  },

  async cacheSize(): Promise<CacheSize> {
    const manifests = await (await store()).listManifests();
    const out: CacheSize = { shardBytes: manifests.reduce((n, m) => n + m.bytes, 0) };
    const est = await globalThis.navigator?.storage?.estimate?.().catch(() => undefined);
    if (est) {
      out.usage = est.usage;
      out.quota = est.quota;
    }
    return out;
  },

  /** Deletes a task's cached shards (every split and variant, or one split). */
  async deleteCache(task: string, split?: SplitName): Promise<number> {
    const s = await store();
    const name = getTask(task).name;
    const doomed = (await s.listManifests()).filter((m) => m.task === name && (!split || m.split === split));
    for (const m of doomed) await s.deleteDataset(m);
    return doomed.length;
  },

  /**
   * Loads (and verifies) the given cached splits and returns a reader id. With `rebuild`, a damaged shard is
   * made again from the source; without it, a damaged shard is an error.
   */
  async openReader(
    keys: ShardKey[],
    opts: BatchReaderOptions,
    position?: BatchPosition,
    rebuild?: { spec: SourceSpec; tok: TokenizerSpec },
  ): Promise<{ id: number; batchesPerEpoch: number; rebuiltShards: number }> {
    const s = await store();
    const from: RebuildFrom | undefined = rebuild ? { source: sourceFromSpec(rebuild.spec), tokenizer: tokenizerFor(rebuild.tok) } : undefined;
    const splits = [];
    let rebuiltShards = 0;
    for (const k of keys) {
      const r = await ShardReader.open(s, k, from);
      splits.push(await r.loadAll());
      rebuiltShards += r.rebuilt.length;
    }
    const reader = new BatchReader(splits, opts);
    if (position) reader.restore(position);
    const id = nextReaderId++;
    readers.set(id, reader);
    return { id, batchesPerEpoch: reader.batchesPerEpoch, rebuiltShards };
  },

  nextBatch(id: number): Batch {
    return transferBatch(readerOf(id).next());
  },

  position(id: number): BatchPosition {
    return readerOf(id).position;
  },

  closeReader(id: number): void {
    readers.delete(id);
  },
};

function readerOf(id: number): BatchReader {
  const r = readers.get(id);
  if (!r) throw new Error(`no batch reader ${id} (closed, or the worker restarted)`);
  return r;
}

export type DataWorkerApi = typeof api;

Comlink.expose(api);
