import { getSplit, hubParquetPath, tsvPath } from '../../../datasets/glueTasks.ts';
import type { SplitName, TaskDef } from '../../../datasets/types.ts';
import { StorageFullError, errorText } from './dataError.ts';
import { sha256Hex } from './sha256.ts';
import { encodeRows, groupRows, inputDigest, type ShardTokenizer } from './shardRows.ts';
import { isStorageFull, shardVariant, type ShardEntry, type ShardKey, type ShardManifest, type ShardStore } from './shardStore.ts';
import type { DataSource } from './types.ts';

export const DEFAULT_SHARD_SIZE = 4096;

export interface BuildProgress {
  task: string;
  split: string;
  /** 'verifying': checking an already complete cache; 'reading': streaming the source; 'done'. */
  phase: 'verifying' | 'reading' | 'done';
  rows: number;
  /** Source bytes read (Parquet: estimated from rows). */
  bytes: number;
  totalBytes?: number;
  etaSeconds?: number;
  shardsWritten: number;
  /** Shards kept from an earlier (interrupted) build because their input and bytes still match. */
  shardsReused: number;
}

export interface BuildOptions {
  store: ShardStore;
  maxLength: number;
  /** Rows per shard (default 4096). */
  shardSize?: number;
  /** Continue an interrupted build (default true); false starts over. */
  resume?: boolean;
  onProgress?: (p: BuildProgress) => void;
  /** Called after each shard is stored and recorded (tests use it to interrupt a build). */
  onShard?: (entry: ShardEntry, manifest: ShardManifest) => void | Promise<void>;
  signal?: AbortSignal;
}

/** The path of a split's file inside its source (registry-relative, so checksums do not depend on the machine). */
export function sourceFileOf(source: DataSource, task: TaskDef, split: SplitName): string {
  const def = getSplit(task, split);
  return source.kind === 'tsv' ? tsvPath(task, def) : hubParquetPath(task, def);
}

export async function shardKeyFor(task: TaskDef, split: SplitName, tokenizer: ShardTokenizer, maxLength: number): Promise<ShardKey> {
  return { task: task.name, split, variant: shardVariant(maxLength, tokenizer.doLowerCase, await tokenizer.vocabHash()) };
}

/** Does a stored shard still have the bytes its manifest entry promises? */
export async function shardIntact(store: ShardStore, key: ShardKey, entry: ShardEntry): Promise<boolean> {
  const bytes = await store.getShard(key, entry.index);
  return !!bytes && bytes.byteLength === entry.bytes && (await sha256Hex(bytes)) === entry.checksum;
}

function totals(m: ShardManifest): void {
  m.rows = m.tokens = m.bytes = m.rowsAtMaxLength = 0;
  for (const s of m.shards) {
    m.rows += s.rows;
    m.tokens += s.tokens;
    m.bytes += s.bytes;
    m.rowsAtMaxLength += s.atMaxLength;
  }
}

/**
 * Tokenizes a split into fixed-size shards in `store`, recording each shard in the manifest as soon as it is
 * stored. Re-running after an interruption continues after the last complete shard: earlier shards are kept
 * when their source rows (input digest) and stored bytes (checksum) still match, and rebuilt otherwise. A
 * complete cache is only verified; a corrupt or missing shard in it is rebuilt from the source.
 */
export async function buildShards(source: DataSource, task: TaskDef, split: SplitName, tokenizer: ShardTokenizer, opts: BuildOptions): Promise<ShardManifest> {
  const shardSize = opts.shardSize ?? DEFAULT_SHARD_SIZE;
  if (!Number.isInteger(shardSize) || shardSize < 1) throw new Error(`shardSize must be a positive integer, got ${shardSize}`);
  getSplit(task, split);
  const key = await shardKeyFor(task, split, tokenizer, opts.maxLength);
  const build = () => buildLocked(source, task, split, tokenizer, opts, key, shardSize);
  return opts.store.exclusive ? opts.store.exclusive(key, build) : build();
}

async function buildLocked(
  source: DataSource,
  task: TaskDef,
  split: SplitName,
  tokenizer: ShardTokenizer,
  opts: BuildOptions,
  key: ShardKey,
  shardSize: number,
): Promise<ShardManifest> {
  const { store, maxLength } = opts;
  const vocabHash = await tokenizer.vocabHash();
  const name = `${task.name}/${split}`;
  const progress: BuildProgress = { task: task.name, split, phase: 'verifying', rows: 0, bytes: 0, shardsWritten: 0, shardsReused: 0 };

  let old = await store.getManifest(key);
  if (old && (old.format !== 'taskscope-shards/1' || old.shardSize !== shardSize || old.padId !== tokenizer.padId || old.vocabHash !== vocabHash)) {
    await store.deleteDataset(key);
    old = null;
  }
  if (old && opts.resume === false) {
    await store.deleteDataset(key);
    old = null;
  }
  // A complete cache made from this same source is only verified; from another source (say the Hub after the
  // TSV folder) the rows are read again and every shard whose input digest still matches is kept.
  if (old?.complete && old.source.kind === source.kind && old.source.origin === source.describe()) {
    opts.onProgress?.(progress);
    let intact = true;
    for (const e of old.shards) if (!(await shardIntact(store, key, e))) intact = false;
    if (intact) {
      opts.onProgress?.({ ...progress, phase: 'done', rows: old.rows, shardsReused: old.shards.length });
      return old;
    }
  }

  const manifest: ShardManifest = {
    format: 'taskscope-shards/1',
    ...key,
    taskType: task.type,
    labels: task.labels,
    source: { kind: source.kind, origin: source.describe(), file: sourceFileOf(source, task, split) },
    sourceChecksums: {},
    vocabHash,
    doLowerCase: tokenizer.doLowerCase,
    padId: tokenizer.padId,
    maxLength,
    shardSize,
    rows: 0,
    tokens: 0,
    bytes: 0,
    skippedRows: 0,
    rowsAtMaxLength: 0,
    complete: false,
    shards: [],
    updatedAt: new Date().toISOString(),
  };
  const skipped = { rows: 0 };
  const started = Date.now();
  progress.phase = 'reading';
  const onRead = ({ bytes, totalBytes }: { bytes: number; totalBytes?: number }) => {
    progress.bytes = bytes;
    progress.totalBytes = totalBytes;
    const elapsed = (Date.now() - started) / 1000;
    progress.etaSeconds = totalBytes && bytes > 0 ? Math.max(0, (elapsed * (totalBytes - bytes)) / bytes) : undefined;
  };
  const rows = source.open(task, split, { onMalformed: 'throw', skipped, onProgress: onRead, signal: opts.signal });

  for await (const group of groupRows(rows, shardSize)) {
    const digest = await inputDigest(group.rows);
    const prev = old?.shards[group.index];
    let entry: ShardEntry;
    if (prev && prev.inputDigest === digest && prev.rows === group.rows.length && (await shardIntact(store, key, prev))) {
      entry = prev;
      manifest.shards.push(entry);
      progress.shardsReused++;
    } else {
      const enc = encodeRows(group.rows, tokenizer, maxLength);
      entry = {
        index: group.index,
        firstRow: group.firstRow,
        rows: group.rows.length,
        tokens: enc.tokens,
        bytes: enc.bytes.byteLength,
        checksum: await sha256Hex(enc.bytes),
        inputDigest: digest,
        atMaxLength: enc.atMaxLength,
      };
      manifest.shards.push(entry);
      totals(manifest);
      manifest.skippedRows = skipped.rows;
      manifest.updatedAt = new Date().toISOString();
      try {
        await store.commitShard(key, entry.index, enc.bytes, manifest);
      } catch (e) {
        manifest.shards.pop();
        if (isStorageFull(e)) {
          throw new StorageFullError(
            `storage full while writing shard ${entry.index} of ${name} to ${store.describe()}: ${errorText(e)} (${entry.index === 0 ? 'no shard of it was complete' : entry.index === 1 ? 'shard 0 is kept' : `shards 0–${entry.index - 1} are kept`}; free space and build again to continue)`,
            e,
          );
        }
        throw new Error(`cannot write shard ${entry.index} of ${name} to ${store.describe()}: ${errorText(e)}`, { cause: e });
      }
      progress.shardsWritten++;
      await opts.onShard?.(entry, manifest);
    }
    progress.rows = group.firstRow + group.rows.length;
    opts.onProgress?.({ ...progress });
  }

  totals(manifest);
  manifest.skippedRows = skipped.rows;
  manifest.sourceChecksums = { [manifest.source.file]: `rows-sha256:${await sha256Hex(manifest.shards.map((s) => s.inputDigest).join('\n'))}` };
  manifest.complete = true;
  manifest.updatedAt = new Date().toISOString();
  await store.pruneShards(key, manifest.shards.length);
  await store.putManifest(manifest);
  opts.onProgress?.({ ...progress, phase: 'done', rows: manifest.rows, etaSeconds: 0 });
  return manifest;
}
