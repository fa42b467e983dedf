import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { checkRunPath, type RunStorage } from '../engine/train/runStorage.ts';

/** A run folder on disk. Files are written under a temporary name and renamed, so none is ever half written. */
export function nodeRunStorage(dir: string): RunStorage {
  const root = resolve(dir);
  const full = (path: string) => join(root, ...checkRunPath(path).split('/'));
  return {
    describe: () => root,
    async read(path) {
      try {
        const buf = await readFile(full(path));
        return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
        throw e;
      }
    },
    async write(path, data) {
      const target = full(path);
      await mkdir(dirname(target), { recursive: true });
      await writeFile(`${target}.partial`, data);
      await rename(`${target}.partial`, target);
    },
    async exists(path) {
      try {
        return (await stat(full(path))).isFile();
      } catch {
        return false;
      }
    },
  };
}
