import type { SplitName, TaskName, TaskType } from '../../../datasets/types.ts';

/** One tokenized split is cached per (task, split, variant); the variant names the tokenization. */
export interface ShardKey {
  task: TaskName;
  split: SplitName;
  /** e.g. `len128-uncased-1b2c3d4e5f60` (max length, casing, vocab hash prefix). */
  variant: string;
}

export function shardVariant(maxLength: number, doLowerCase: boolean, vocabHash: string): string {
  return `len${maxLength}-${doLowerCase ? 'uncased' : 'cased'}-${vocabHash.slice(0, 12)}`;
}

export function keyId(k: ShardKey): string {
  return `${k.task}/${k.split}/${k.variant}`;
}

export interface ShardEntry {
  index: number;
  /** Index of the shard's first row in the split. */
  firstRow: number;
  rows: number;
  tokens: number;
  bytes: number;
  /** SHA-256 hex of the shard's bytes. */
  checksum: string;
  /** SHA-256 hex of the source rows it was made from (uid, texts, label), to tell when the source changed. */
  inputDigest: string;
  /** Rows exactly maxLength tokens long. */
  atMaxLength: number;
}

export interface ShardManifest extends ShardKey {
  format: 'taskscope-shards/1';
  taskType: TaskType;
  /** Label vocabulary the class ids index (null for regression). */
  labels: readonly string[] | null;
  source: { kind: 'tsv' | 'parquet'; origin: string; file: string };
  /**
   * Per source file: `rows-sha256:<hex>` = SHA-256 of the shards' input digests joined by "\n" (a checksum of
   * the parsed rows, so it can be computed while streaming). Set when the build completes.
   */
  sourceChecksums: Record<string, string>;
  vocabHash: string;
  doLowerCase: boolean;
  padId: number;
  maxLength: number;
  shardSize: number;
  /** Rows, tokens and bytes in the completed shards. */
  rows: number;
  tokens: number;
  bytes: number;
  /** Rows dropped on purpose (SNLI '-'). */
  skippedRows: number;
  /** Rows exactly maxLength tokens long: the tokenizer cut most of them (a cheap truncation count). */
  rowsAtMaxLength: number;
  /** False while a build is under way or was interrupted; `shards` then lists the completed ones. */
  complete: boolean;
  shards: ShardEntry[];
  updatedAt: string;
}

/** Where shards live: IndexedDB in the browser (idbShardStore.ts), a folder in Node (nodeShardStore.ts). */
export interface ShardStore {
  describe(): string;
  getManifest(key: ShardKey): Promise<ShardManifest | null>;
  putManifest(manifest: ShardManifest): Promise<void>;
  getShard(key: ShardKey, index: number): Promise<Uint8Array | null>;
  putShard(key: ShardKey, index: number, bytes: Uint8Array): Promise<void>;
  /** Stores the shard, then the manifest that records it: a crash in between never records a missing shard. */
  commitShard(key: ShardKey, index: number, bytes: Uint8Array, manifest: ShardManifest): Promise<void>;
  /** Deletes shards with index >= keep (left over when a source shrank). */
  pruneShards(key: ShardKey, keep: number): Promise<void>;
  listManifests(): Promise<ShardManifest[]>;
  /** Deletes the manifest and every shard of the key. */
  deleteDataset(key: ShardKey): Promise<void>;
  /**
   * Runs `build` as the key's only builder (a lock file in Node, a Web Lock across tabs): a second builder
   * waits, then finds the first one's complete shards and only verifies them. Absent = one builder at a time.
   */
  exclusive?<T>(key: ShardKey, build: () => Promise<T>): Promise<T>;
}

/** Web Locks (`navigator.locks`) where the platform has them: one holder per name across tabs and workers. */
export async function withWebLock<T>(name: string, f: () => Promise<T>): Promise<T> {
  const locks = (globalThis as { navigator?: { locks?: { request(name: string, cb: () => Promise<T>): Promise<T> } } }).navigator?.locks;
  return locks ? locks.request(name, f) : f();
}

/** Browser quota (`QuotaExceededError`, also as the cause of an aborted transaction) or a full disk. */
export function isStorageFull(e: unknown): boolean {
  const err = e as { name?: string; code?: string; cause?: unknown; target?: { error?: unknown } } | null;
  if (!err || typeof err !== 'object') return false;
  if (err.name === 'QuotaExceededError' || err.code === 'ENOSPC' || err.code === 'EDQUOT') return true;
  return isStorageFull(err.cause) || isStorageFull(err.target?.error);
}
