// Node only: replace a file so that a reader (or a process killed mid-write) never sees half of it.
import { open, rename, rm } from 'node:fs/promises';
import { newWriterId } from './nodeFileLock.ts';
import { isStorageFull } from '../../data/shardStore.ts';

/**
 * Writes `<path>.tmp-<writer>` (unique per process and call, so concurrent writers never share one),
 * fsyncs it and renames it over `path`. On failure the temporary file is removed and the error names
 * `path`; the old content of `path` is untouched.
 */
export async function atomicWriteFile(path: string, data: Uint8Array | string): Promise<void> {
  const tmp = `${path}.tmp-${newWriterId()}`;
  try {
    const fh = await open(tmp, 'w');
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true }).catch(() => undefined);
    const err = e as NodeJS.ErrnoException;
    if (isStorageFull(e))
      throw Object.assign(
        new Error(`storage full writing ${path} (${err.message}); its earlier content is unchanged and no partial file was left`, { cause: e }),
        { code: err.code },
      );
    throw e;
  }
}

/** `.tmp` names this module and older Taskscope versions leave when killed mid-write. */
export const isTempName = (name: string) => /\.tmp(-\d+-[0-9a-f]{8})?$/.test(name);
