import { openDB, type DBSchema, type IDBPDatabase } from 'idb';
import { keyId, withWebLock, type ShardKey, type ShardManifest, type ShardStore } from '../../data/shardStore.ts';

export const DATA_DB_NAME = 'taskscope-data';

interface DataDb extends DBSchema {
  manifests: { key: string; value: ShardManifest };
  /** Key [datasetId, shardIndex], so one dataset's shards form a key range. */
  shards: { key: [string, number]; value: ArrayBuffer };
}

/** Shards in IndexedDB (the browser data worker; Node tests use fake-indexeddb). */
export class IdbShardStore implements ShardStore {
  private constructor(
    private readonly db: IDBPDatabase<DataDb>,
    private readonly name: string,
  ) {}

  static async open(name = DATA_DB_NAME): Promise<IdbShardStore> {
    const db = await openDB<DataDb>(name, 1, {
      upgrade(d) {
        d.createObjectStore('manifests');
        d.createObjectStore('shards');
      },
    });
    return new IdbShardStore(db, name);
  }

  describe(): string {
    return `IndexedDB "${this.name}"`;
  }

  close(): void {
    this.db.close();
  }

  exclusive<T>(key: ShardKey, build: () => Promise<T>): Promise<T> {
    return withWebLock(`taskscope-shards:${this.name}:${keyId(key)}`, build);
  }

  async getManifest(key: ShardKey): Promise<ShardManifest | null> {
    return (await this.db.get('manifests', keyId(key))) ?? null;
  }

  async putManifest(manifest: ShardManifest): Promise<void> {
    await this.db.put('manifests', manifest, keyId(manifest));
  }

  async getShard(key: ShardKey, index: number): Promise<Uint8Array | null> {
    const buf = await this.db.get('shards', [keyId(key), index]);
    return buf ? new Uint8Array(buf) : null;
  }

  async putShard(key: ShardKey, index: number, bytes: Uint8Array): Promise<void> {
    await this.db.put('shards', toArrayBuffer(bytes), [keyId(key), index]);
  }

  async commitShard(key: ShardKey, index: number, bytes: Uint8Array, manifest: ShardManifest): Promise<void> {
    // One transaction: either both the shard and the manifest that lists it are stored, or neither.
    const tx = this.db.transaction(['shards', 'manifests'], 'readwrite');
    try {
      await Promise.all([
        tx.objectStore('shards').put(toArrayBuffer(bytes), [keyId(key), index]),
        tx.objectStore('manifests').put(manifest, keyId(manifest)),
        tx.done,
      ]);
    } catch (e) {
      try {
        tx.abort();
      } catch {
        // already finished or aborted
      }
      tx.done.catch(() => {});
      throw e;
    }
  }

  async pruneShards(key: ShardKey, keep: number): Promise<void> {
    await this.db.delete('shards', IDBKeyRange.bound([keyId(key), keep], [keyId(key), Infinity]));
  }

  async listManifests(): Promise<ShardManifest[]> {
    return this.db.getAll('manifests');
  }

  async deleteDataset(key: ShardKey): Promise<void> {
    const tx = this.db.transaction(['shards', 'manifests'], 'readwrite');
    await Promise.all([
      tx.objectStore('shards').delete(IDBKeyRange.bound([keyId(key), 0], [keyId(key), Infinity])),
      tx.objectStore('manifests').delete(keyId(key)),
      tx.done,
    ]);
  }
}

/** A copy that owns exactly its bytes (a view may share a larger buffer). */
function toArrayBuffer(bytes: Uint8Array): ArrayBuffer {
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer
    ? bytes.buffer
    : (bytes.slice().buffer as ArrayBuffer);
}
