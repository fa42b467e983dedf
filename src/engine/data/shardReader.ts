import { getTask } from '../../../datasets/glueTasks.ts';
import { sha256Hex } from './sha256.ts';
import { decodeShard, type DecodedShard } from './shardFormat.ts';
import { encodeRows, groupRows, inputDigest, type ShardTokenizer } from './shardRows.ts';
import { keyId, type ShardKey, type ShardManifest, type ShardStore } from './shardStore.ts';
import type { DataSource } from './types.ts';

/** The source and tokenizer that made a cache, so a corrupt or missing shard can be made again. */
export interface RebuildFrom {
  source: DataSource;
  tokenizer: ShardTokenizer;
}

/** A whole split in memory, shards concatenated: what the batch reader indexes. */
export interface LoadedSplit {
  task: ShardManifest['task'];
  split: ShardManifest['split'];
  manifest: ShardManifest;
  rows: number;
  ids: Int32Array;
  /** Start of row i in `ids` (rows + 1 entries). */
  offsets: Uint32Array;
  lengths: Uint16Array;
  segmentA: Uint16Array;
  labels: Float32Array;
  uids: string[];
}

export interface VerifyReport {
  intact: number[];
  /** Shards whose bytes are absent or do not match the manifest's checksum. */
  damaged: { index: number; reason: 'missing' | 'checksum mismatch' }[];
}

/**
 * Reads a complete cache back. Every shard is checked against its SHA-256 before use; a damaged one is
 * rebuilt from the source (when `rebuild` is given) and checked again, never used as is.
 */
export class ShardReader {
  /** Shards rebuilt by this reader, for reports and tests. */
  readonly rebuilt: number[] = [];

  private constructor(
    readonly store: ShardStore,
    readonly manifest: ShardManifest,
    private readonly rebuildFrom?: RebuildFrom,
  ) {}

  static async open(store: ShardStore, key: ShardKey, rebuild?: RebuildFrom): Promise<ShardReader> {
    const m = await store.getManifest(key);
    if (!m) throw new Error(`${keyId(key)} is not in ${store.describe()}: build it first`);
    if (!m.complete)
      throw new Error(
        `${keyId(key)} in ${store.describe()} is incomplete (${m.shards.length} shards, ${m.rows} rows so far): run the build again to finish it`,
      );
    return new ShardReader(store, m, rebuild);
  }

  get key(): ShardKey {
    return { task: this.manifest.task, split: this.manifest.split, variant: this.manifest.variant };
  }

  get name(): string {
    return `${this.manifest.task}/${this.manifest.split}`;
  }

  async verify(): Promise<VerifyReport> {
    const report: VerifyReport = { intact: [], damaged: [] };
    for (const e of this.manifest.shards) {
      const bytes = await this.store.getShard(this.key, e.index);
      if (!bytes) report.damaged.push({ index: e.index, reason: 'missing' });
      else if (bytes.byteLength !== e.bytes || (await sha256Hex(bytes)) !== e.checksum) report.damaged.push({ index: e.index, reason: 'checksum mismatch' });
      else report.intact.push(e.index);
    }
    return report;
  }

  /** One shard, verified (and rebuilt if damaged). */
  async shard(index: number): Promise<DecodedShard> {
    const entry = this.manifest.shards[index];
    if (!entry) throw new Error(`${this.name} has no shard ${index} (${this.manifest.shards.length} shards)`);
    let bytes = await this.store.getShard(this.key, index);
    if (!bytes || bytes.byteLength !== entry.bytes || (await sha256Hex(bytes)) !== entry.checksum) {
      const why = bytes ? 'checksum mismatch' : 'missing';
      await this.repair([index], `${index} (${why})`);
      bytes = await this.store.getShard(this.key, index);
      if (!bytes) throw new Error(`shard ${index} of ${this.name}: still missing after the rebuild`);
    }
    return decodeShard(bytes, `shard ${index} of ${this.name}`);
  }

  /**
   * Makes the given shards again in one pass over the source. The rebuilt rows must have the recorded input
   * digest (else the source changed) and the rebuilt bytes the recorded checksum (else the tokenizer changed).
   */
  async repair(indices: number[], detail = indices.join(', ')): Promise<void> {
    if (indices.length === 0) return;
    if (!this.rebuildFrom) {
      throw new Error(`${this.name} in ${this.store.describe()}: damaged shard ${detail}, and no source was given to rebuild it`);
    }
    const { source, tokenizer } = this.rebuildFrom;
    const want = new Set(indices);
    const task = getTask(this.manifest.task);
    const rows = source.open(task, this.manifest.split, { onMalformed: 'throw' });
    for await (const group of groupRows(rows, this.manifest.shardSize)) {
      if (!want.has(group.index)) continue;
      const entry = this.manifest.shards[group.index];
      if ((await inputDigest(group.rows)) !== entry.inputDigest) {
        throw new Error(
          `cannot rebuild shard ${group.index} of ${this.name}: its rows in ${source.describe()} differ from the ones it was built from (the source changed; build the split again)`,
        );
      }
      const enc = encodeRows(group.rows, tokenizer, this.manifest.maxLength);
      if ((await sha256Hex(enc.bytes)) !== entry.checksum) {
        throw new Error(`cannot rebuild shard ${group.index} of ${this.name}: the tokenizer gives different ids than when it was built`);
      }
      await this.store.putShard(this.key, group.index, enc.bytes);
      this.rebuilt.push(group.index);
      want.delete(group.index);
      if (want.size === 0) break;
    }
    if (want.size > 0) throw new Error(`cannot rebuild shard ${[...want].join(', ')} of ${this.name}: the source has fewer rows than the manifest`);
  }

  /** Every shard verified (damaged ones rebuilt in one pass), concatenated. */
  async loadAll(): Promise<LoadedSplit> {
    const shardBytes: (Uint8Array | null)[] = [];
    const damaged: string[] = [];
    for (const e of this.manifest.shards) {
      const bytes = await this.store.getShard(this.key, e.index);
      const ok = !!bytes && bytes.byteLength === e.bytes && (await sha256Hex(bytes)) === e.checksum;
      shardBytes.push(ok ? bytes : null);
      if (!ok) damaged.push(`${e.index} (${bytes ? 'checksum mismatch' : 'missing'})`);
    }
    const bad = this.manifest.shards.filter((_, i) => !shardBytes[i]).map((e) => e.index);
    if (bad.length > 0) {
      await this.repair(bad, damaged.join(', '));
      for (const i of bad) {
        const bytes = await this.store.getShard(this.key, i);
        if (!bytes || (await sha256Hex(bytes)) !== this.manifest.shards[i].checksum)
          throw new Error(`shard ${i} of ${this.name} is still damaged after the rebuild`);
        shardBytes[i] = bytes;
      }
    }
    const m = this.manifest;
    const out: LoadedSplit = {
      task: m.task,
      split: m.split,
      manifest: m,
      rows: m.rows,
      ids: new Int32Array(m.tokens),
      offsets: new Uint32Array(m.rows + 1),
      lengths: new Uint16Array(m.rows),
      segmentA: new Uint16Array(m.rows),
      labels: new Float32Array(m.rows),
      uids: new Array<string>(m.rows),
    };
    let row = 0;
    let tok = 0;
    for (const e of m.shards) {
      const s = decodeShard(shardBytes[e.index]!, `shard ${e.index} of ${this.name}`);
      out.ids.set(s.ids, tok);
      out.lengths.set(s.lengths, row);
      out.segmentA.set(s.segmentA, row);
      out.labels.set(s.labels, row);
      for (let i = 0; i < s.rows; i++) {
        out.uids[row + i] = s.uids[i];
        out.offsets[row + i + 1] = out.offsets[row + i] + s.lengths[i];
      }
      row += s.rows;
      tok += s.ids.length;
    }
    return out;
  }
}
