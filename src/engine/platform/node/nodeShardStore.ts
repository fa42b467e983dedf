/** Node-only: shards as files (`data build --out`), the same bytes as in IndexedDB. */
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { atomicWriteFile, isTempName } from './nodeAtomicWrite.ts';
import { acquireFileLock } from './nodeFileLock.ts';
import type { ShardKey, ShardManifest, ShardStore } from '../../data/shardStore.ts';

const MANIFEST = 'manifest.json';
const BUILD_LOCK = '.build.lock';
const shardFile = (index: number) => `shard-${String(index).padStart(5, '0')}.bin`;

/** Layout: `<root>/<task>/<split>/<variant>/{manifest.json, shard-00000.bin, …}`. */
export class FolderShardStore implements ShardStore {
  readonly root: string;
  constructor(root: string) {
    this.root = resolve(root);
  }

  describe(): string {
    return this.root;
  }

  dir(key: ShardKey): string {
    return join(this.root, key.task, key.split, key.variant);
  }

  shardPath(key: ShardKey, index: number): string {
    return join(this.dir(key), shardFile(index));
  }

  async getManifest(key: ShardKey): Promise<ShardManifest | null> {
    const text = await readFile(join(this.dir(key), MANIFEST), 'utf8').catch(notFoundAsNull);
    if (text === null) return null;
    try {
      return JSON.parse(text) as ShardManifest;
    } catch (e) {
      throw new Error(`${join(this.dir(key), MANIFEST)}: not valid JSON (${(e as Error).message})`);
    }
  }

  async putManifest(manifest: ShardManifest): Promise<void> {
    await mkdir(this.dir(manifest), { recursive: true });
    await atomicWrite(join(this.dir(manifest), MANIFEST), `${JSON.stringify(manifest, null, 1)}\n`);
  }

  async getShard(key: ShardKey, index: number): Promise<Uint8Array | null> {
    const buf = await readFile(this.shardPath(key, index)).catch(notFoundAsNull);
    return buf === null ? null : new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  async putShard(key: ShardKey, index: number, bytes: Uint8Array): Promise<void> {
    await mkdir(this.dir(key), { recursive: true });
    await atomicWrite(this.shardPath(key, index), bytes);
  }

  async commitShard(key: ShardKey, index: number, bytes: Uint8Array, manifest: ShardManifest): Promise<void> {
    await this.putShard(key, index, bytes);
    await this.putManifest(manifest);
  }

  async pruneShards(key: ShardKey, keep: number): Promise<void> {
    const names = await readdir(this.dir(key)).catch(() => [] as string[]);
    for (const n of names) {
      const m = /^shard-(\d+)\.bin$/.exec(n);
      if (m && Number(m[1]) >= keep) await rm(join(this.dir(key), n), { force: true });
    }
  }

  async listManifests(): Promise<ShardManifest[]> {
    const out: ShardManifest[] = [];
    for (const task of await readdir(this.root).catch(() => [] as string[])) {
      for (const split of await readdir(join(this.root, task)).catch(() => [] as string[])) {
        for (const variant of await readdir(join(this.root, task, split)).catch(() => [] as string[])) {
          const m = await this.getManifest({ task, split, variant } as ShardKey).catch(() => null);
          if (m) out.push(m);
        }
      }
    }
    return out;
  }

  async deleteDataset(key: ShardKey): Promise<void> {
    // The build lock stays: deleteDataset runs inside exclusive() when a build starts over.
    for (const n of await readdir(this.dir(key)).catch(() => [] as string[])) {
      if (n !== BUILD_LOCK) await rm(join(this.dir(key), n), { recursive: true, force: true });
    }
  }

  /** One builder per dataset across processes: `<dir>/.build.lock`; a second one waits for the first. */
  async exclusive<T>(key: ShardKey, build: () => Promise<T>): Promise<T> {
    await mkdir(this.dir(key), { recursive: true });
    const lock = await acquireFileLock(join(this.dir(key), BUILD_LOCK), { purpose: 'a shard build', wait: true });
    try {
      // Temporary files of a builder killed mid-write (this one holds the lock, so none is in use).
      for (const n of await readdir(this.dir(key))) if (isTempName(n)) await rm(join(this.dir(key), n), { force: true });
      return await build();
    } finally {
      await lock.release();
    }
  }
}

const atomicWrite = atomicWriteFile;

function notFoundAsNull(e: NodeJS.ErrnoException): null {
  if (e.code === 'ENOENT') return null;
  throw e;
}
