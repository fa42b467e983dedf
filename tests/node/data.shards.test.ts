import 'fake-indexeddb/auto';
import { mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { getTask } from '../../datasets/glueTasks.ts';
import { buildShards, shardKeyFor, type BuildProgress } from '../../src/engine/data/buildShards.ts';
import { StorageFullError } from '../../src/engine/data/dataError.ts';
import { IdbShardStore } from '../../src/engine/platform/browser/idbShardStore.ts';
import { parquetSourceFromPath, tsvSourceFromPath } from '../../src/engine/platform/node/nodeFiles.ts';
import { FolderShardStore } from '../../src/engine/platform/node/nodeShardStore.ts';
import { sha256Hex } from '../../src/engine/data/sha256.ts';
import { decodeShard } from '../../src/engine/data/shardFormat.ts';
import { ShardReader } from '../../src/engine/data/shardReader.ts';
import type { ShardManifest } from '../../src/engine/data/shardStore.ts';
import type { DataSource, RawExample } from '../../src/engine/data/types.ts';
import { BertTokenizer } from '../../src/engine/tokenizer/bertTokenizer.ts';
import { assetsDir, glueDir, hubDir } from '../helpers/shared.ts';

const vocabText = readFileSync(resolve(assetsDir, 'models/bert-tiny-uncased/vocab.txt'), 'utf8');
const tokenizer = BertTokenizer.fromVocabText(vocabText, { doLowerCase: true });
const RTE = getTask('RTE');
const tmp = mkdtempSync(join(tmpdir(), 'taskscope-shards-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
let dirCount = 0;
const freshStore = () => new FolderShardStore(join(tmp, `store${dirCount++}`));
let dbCount = 0;
const freshDb = () => IdbShardStore.open(`test-data-${dbCount++}`);

async function rows(source: DataSource, task: string, split: string): Promise<RawExample[]> {
  const out: RawExample[] = [];
  for await (const r of source.open(getTask(task), split as never)) out.push(r);
  return out;
}

describe('shards', () => {
  it('packs every row: ids, segment split, label and uid as the tokenizer gives them', async () => {
    const src = await tsvSourceFromPath(glueDir);
    const store = freshStore();
    const m = await buildShards(src, RTE, 'dev', tokenizer, { store, maxLength: 128, shardSize: 64 });
    expect([m.rows, m.shards.length, m.complete]).toEqual([277, 5, true]);
    expect(m.shards.map((s) => [s.index, s.firstRow, s.rows])).toEqual([
      [0, 0, 64],
      [1, 64, 64],
      [2, 128, 64],
      [3, 192, 64],
      [4, 256, 21],
    ]);
    expect(m.variant).toBe(`len128-uncased-${(await tokenizer.vocabHash()).slice(0, 12)}`);
    expect(m.sourceChecksums).toEqual({ 'RTE/dev.tsv': `rows-sha256:${await sha256Hex(m.shards.map((s) => s.inputDigest).join('\n'))}` });
    expect(m.labels).toEqual(['not_entailment', 'entailment']);
    const source = await rows(src, 'RTE', 'dev');
    const all = await (await ShardReader.open(store, m)).loadAll();
    expect(all.rows).toBe(277);
    let tokens = 0;
    let atMax = 0;
    for (let i = 0; i < 277; i++) {
      const enc = tokenizer.encode(source[i].textA, source[i].textB, { maxLength: 128, padding: 'none' });
      expect(Array.from(all.ids.subarray(all.offsets[i], all.offsets[i + 1])), `row ${i}`).toEqual(enc.inputIds);
      expect(all.segmentA[i]).toBe(enc.tokenTypeIds.indexOf(1));
      expect(all.labels[i]).toBe(source[i].label);
      expect(all.uids[i]).toBe(source[i].uid);
      tokens += enc.length;
      if (enc.length === 128) atMax++;
    }
    expect([m.tokens, m.rowsAtMaxLength]).toEqual([tokens, atMax]);
    // Shard files are byte-for-byte what the manifest's checksums say.
    for (const e of m.shards) expect(await sha256Hex(readFileSync(store.shardPath(m, e.index)))).toBe(e.checksum);
  });

  it('TSV and Parquet sources give byte-identical shards (RTE dev, STS-B dev: float32 scores)', async () => {
    const tsv = await tsvSourceFromPath(glueDir);
    const pq = parquetSourceFromPath(hubDir);
    for (const task of ['RTE', 'STS-B']) {
      const a = await buildShards(tsv, getTask(task), 'dev', tokenizer, { store: freshStore(), maxLength: 64, shardSize: 500 });
      const b = await buildShards(pq, getTask(task), 'dev', tokenizer, { store: freshStore(), maxLength: 64, shardSize: 500 });
      expect(b.shards.map((s) => s.checksum)).toEqual(a.shards.map((s) => s.checksum));
      expect(b.source.file).toBe(`datasets/nyu-mll/glue/resolve/main/${getTask(task).hub.config}/validation-00000-of-00001.parquet`);
    }
  });

  it('a build from another source re-reads it and keeps only the shards whose rows are unchanged', async () => {
    const tsv = await tsvSourceFromPath(glueDir);
    const pq = parquetSourceFromPath(hubDir);
    const store = freshStore();
    for (const [task, written, reused] of [
      ['RTE', 0, 3],
      ['MRPC', 4, 0],
    ] as const) {
      await buildShards(tsv, getTask(task), 'dev', tokenizer, { store, maxLength: 64, shardSize: 128 });
      const events: BuildProgress[] = [];
      const m = await buildShards(pq, getTask(task), 'dev', tokenizer, { store, maxLength: 64, shardSize: 128, onProgress: (p) => events.push(p) });
      // RTE's rows are identical in both sources; every MRPC dev uid differs (TSV: row position, Hub: row in
      // msr_paraphrase_train.txt), so all 4 of its shards are made again.
      expect(events.at(-1), task).toMatchObject({ phase: 'done', shardsWritten: written, shardsReused: reused });
      expect(m.source.kind).toBe('parquet');
    }
  });

  it('detects a corrupt byte and a missing shard on read-back and rebuilds them from the source', async () => {
    const src = await tsvSourceFromPath(glueDir);
    const store = freshStore();
    const m = await buildShards(src, RTE, 'dev', tokenizer, { store, maxLength: 128, shardSize: 64 });
    const reader = await ShardReader.open(store, m, { source: src, tokenizer });
    expect((await reader.verify()).damaged).toEqual([]);
    const original = readFileSync(store.shardPath(m, 2));
    const corrupt = Buffer.from(original);
    corrupt[100] ^= 0x01;
    writeFileSync(store.shardPath(m, 2), corrupt);
    unlinkSync(store.shardPath(m, 4));
    expect((await reader.verify()).damaged).toEqual([
      { index: 2, reason: 'checksum mismatch' },
      { index: 4, reason: 'missing' },
    ]);

    // Without a source the damage is an error, never silently used.
    const blind = await ShardReader.open(store, m);
    await expect(blind.loadAll()).rejects.toThrow(
      `RTE/dev in ${store.root}: damaged shard 2 (checksum mismatch), 4 (missing), and no source was given to rebuild it`,
    );
    await expect(blind.shard(2)).rejects.toThrow(`RTE/dev in ${store.root}: damaged shard 2 (checksum mismatch), and no source was given to rebuild it`);

    const loaded = await reader.loadAll();
    expect(reader.rebuilt).toEqual([2, 4]);
    expect(readFileSync(store.shardPath(m, 2)).equals(original)).toBe(true);
    expect((await reader.verify()).damaged).toEqual([]);
    expect(loaded.rows).toBe(277);

    // Single-shard access repairs too.
    writeFileSync(store.shardPath(m, 1), corrupt.subarray(0, 10));
    const one = await ShardReader.open(store, m, { source: src, tokenizer });
    const s1 = await one.shard(1);
    expect(one.rebuilt).toEqual([1]);
    expect(s1.uids[0]).toBe('64');

    // A build over a complete cache verifies it and rebuilds only the damaged shard.
    writeFileSync(store.shardPath(m, 3), corrupt);
    const events: BuildProgress[] = [];
    const again = await buildShards(src, RTE, 'dev', tokenizer, { store, maxLength: 128, shardSize: 64, onProgress: (p) => events.push(p) });
    expect(again.shards.map((s) => s.checksum)).toEqual(m.shards.map((s) => s.checksum));
    expect(events.at(-1)).toMatchObject({ phase: 'done', rows: 277, shardsWritten: 1, shardsReused: 4 });
  });

  it('refuses to rebuild from a source whose rows changed', async () => {
    const src = await tsvSourceFromPath(glueDir);
    const store = freshStore();
    const m = await buildShards(src, RTE, 'dev', tokenizer, { store, maxLength: 128, shardSize: 64 });
    unlinkSync(store.shardPath(m, 0));
    const other = await tsvSourceFromPath(resolve(glueDir, '..', 'glue')); // same files: fine
    await (await ShardReader.open(store, m, { source: other, tokenizer })).loadAll();
    unlinkSync(store.shardPath(m, 0));
    const shifted: DataSource = {
      kind: 'tsv',
      describe: () => 'shifted',
      locate: async () => 'x',
      async *open(task, split) {
        for await (const r of src.open(task, split)) yield { ...r, textA: `${r.textA}!` };
      },
    };
    await expect((await ShardReader.open(store, m, { source: shifted, tokenizer })).loadAll()).rejects.toThrow(
      'cannot rebuild shard 0 of RTE/dev: its rows in shifted differ from the ones it was built from (the source changed; build the split again)',
    );
  });

  it('an interrupted build resumes after the last complete shard and ends with the same checksums', async () => {
    const src = await tsvSourceFromPath(glueDir);
    const whole = await buildShards(src, RTE, 'train', tokenizer, { store: freshStore(), maxLength: 128, shardSize: 300 });
    expect(whole.shards.length).toBe(9);

    const store = freshStore();
    const interrupt = new Error('power cut after shard 3');
    await expect(
      buildShards(src, RTE, 'train', tokenizer, {
        store,
        maxLength: 128,
        shardSize: 300,
        onShard: (e) => {
          if (e.index === 3) throw interrupt;
        },
      }),
    ).rejects.toBe(interrupt);
    const partial = (await store.getManifest(whole))!;
    expect([partial.complete, partial.shards.length, partial.rows]).toEqual([false, 4, 1200]);
    await expect(ShardReader.open(store, whole)).rejects.toThrow(
      `RTE/train/${whole.variant} in ${store.root} is incomplete (4 shards, 1200 rows so far): run the build again to finish it`,
    );

    const events: BuildProgress[] = [];
    const resumed = await buildShards(src, RTE, 'train', tokenizer, { store, maxLength: 128, shardSize: 300, onProgress: (p) => events.push(p) });
    expect(resumed.shards.map((s) => s.checksum)).toEqual(whole.shards.map((s) => s.checksum));
    expect(resumed.sourceChecksums).toEqual(whole.sourceChecksums);
    expect([resumed.rows, resumed.tokens, resumed.bytes]).toEqual([whole.rows, whole.tokens, whole.bytes]);
    expect(events.at(-1)).toMatchObject({ phase: 'done', rows: 2490, shardsWritten: 5, shardsReused: 4 });
    // Progress carries bytes read against the file size, and an ETA.
    const mid = events.find((e) => e.phase === 'reading')!;
    expect(mid.totalBytes).toBe(readFileSync(resolve(glueDir, 'RTE/train.tsv')).byteLength);
    expect(mid.bytes).toBeGreaterThan(0);
    expect(typeof mid.etaSeconds).toBe('number');
    // resume: false starts over.
    const restarted: BuildProgress[] = [];
    await buildShards(src, RTE, 'train', tokenizer, { store, maxLength: 128, shardSize: 300, resume: false, onProgress: (p) => restarted.push(p) });
    expect(restarted.at(-1)).toMatchObject({ shardsWritten: 9, shardsReused: 0 });
  });
});

describe('IndexedDB shard store (fake-indexeddb)', () => {
  it('stores the same shard bytes as the folder store, and repairs a corrupted one', async () => {
    const src = await tsvSourceFromPath(glueDir);
    const db = await freshDb();
    const m = await buildShards(src, RTE, 'dev', tokenizer, { store: db, maxLength: 128, shardSize: 64 });
    const folder = await buildShards(src, RTE, 'dev', tokenizer, { store: freshStore(), maxLength: 128, shardSize: 64 });
    expect(m.shards.map((s) => s.checksum)).toEqual(folder.shards.map((s) => s.checksum));
    expect((await db.listManifests()).map((x) => `${x.task}/${x.split}/${x.complete}`)).toEqual(['RTE/dev/true']);

    const bytes = (await db.getShard(m, 3))!.slice();
    bytes[bytes.length - 1] ^= 0xff;
    await db.putShard(m, 3, bytes);
    const reader = await ShardReader.open(db, m, { source: src, tokenizer });
    expect((await reader.verify()).damaged).toEqual([{ index: 3, reason: 'checksum mismatch' }]);
    const s3 = await reader.shard(3);
    expect(reader.rebuilt).toEqual([3]);
    expect(s3.uids[0]).toBe('192');
    expect(await sha256Hex((await db.getShard(m, 3))!)).toBe(m.shards[3].checksum);

    await db.deleteDataset(m);
    expect(await db.getManifest(m)).toBeNull();
    expect(await db.getShard(m, 0)).toBeNull();
    db.close();
  });

  it('a full quota at the first or second shard says what was kept in words (never "shards 0–-1")', async () => {
    const src = await tsvSourceFromPath(glueDir);
    const proto = IDBObjectStore.prototype;
    const put = proto.put;
    for (const [fullAt, kept] of [
      [0, 'no shard of it was complete'],
      [1, 'shard 0 is kept'],
    ] as const) {
      const db = await freshDb();
      let shardPuts = 0;
      proto.put = function (this: IDBObjectStore, ...args: Parameters<IDBObjectStore['put']>) {
        if (this.name === 'shards' && ++shardPuts > fullAt) throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
        return put.apply(this, args);
      };
      try {
        await expect(buildShards(src, RTE, 'dev', tokenizer, { store: db, maxLength: 128, shardSize: 64 })).rejects.toThrow(
          new StorageFullError(
            `storage full while writing shard ${fullAt} of RTE/dev to ${db.describe()}: The quota has been exceeded. (${kept}; free space and build again to continue)`,
          ),
        );
      } finally {
        proto.put = put;
        db.close();
      }
    }
  });

  it('a full quota gives a clear error, keeps the earlier shards intact, and the build resumes later', async () => {
    const src = await tsvSourceFromPath(glueDir);
    const db = await freshDb();
    const proto = IDBObjectStore.prototype;
    const put = proto.put;
    let shardPuts = 0;
    proto.put = function (this: IDBObjectStore, ...args: Parameters<IDBObjectStore['put']>) {
      if (this.name === 'shards' && ++shardPuts > 3) throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
      return put.apply(this, args);
    };
    let err: unknown;
    try {
      await buildShards(src, RTE, 'dev', tokenizer, { store: db, maxLength: 128, shardSize: 64 });
    } catch (e) {
      err = e;
    } finally {
      proto.put = put;
    }
    expect(err).toBeInstanceOf(StorageFullError);
    expect((err as Error).message).toBe(
      `storage full while writing shard 3 of RTE/dev to ${db.describe()}: The quota has been exceeded. (shards 0–2 are kept; free space and build again to continue)`,
    );
    const key = await shardKeyFor(RTE, 'dev', tokenizer, 128);
    const partial = (await db.getManifest(key)) as ShardManifest;
    expect([partial.complete, partial.shards.length, partial.rows]).toEqual([false, 3, 192]);
    expect(await db.getShard(key, 3)).toBeNull();
    for (const e of partial.shards) {
      const bytes = (await db.getShard(key, e.index))!;
      expect(await sha256Hex(bytes)).toBe(e.checksum);
      expect(decodeShard(bytes, 'x').rows).toBe(64);
    }
    const events: BuildProgress[] = [];
    const done = await buildShards(src, RTE, 'dev', tokenizer, { store: db, maxLength: 128, shardSize: 64, onProgress: (p) => events.push(p) });
    expect([done.complete, done.rows]).toEqual([true, 277]);
    expect(events.at(-1)).toMatchObject({ shardsWritten: 2, shardsReused: 3 });
    db.close();
  });
});
