import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { acquireFileLock, LockHeldError, type FileLock } from '../engine/platform/node/nodeFileLock.ts';

/**
 * One writer per run folder (`train --out`, `pretrain --out`, `pipeline --out`): `<out>/.lock` holds the owner's
 * pid and host. A second process is refused naming the first; a lock left by a dead process on this host is
 * taken over (and said so).
 */
export async function lockRunFolder(out: string, purpose: string, note: (line: string) => void): Promise<FileLock> {
  await mkdir(out, { recursive: true });
  let lock: FileLock;
  try {
    lock = await acquireFileLock(join(out, '.lock'), { purpose });
  } catch (e) {
    if (e instanceof LockHeldError) throw new Error(`--out ${out} is in use: ${e.message}`);
    throw e;
  }
  if (lock.tookOverFrom) note(`${out}: took over the lock of pid ${lock.tookOverFrom.pid} on ${lock.tookOverFrom.host}, which no longer runs`);
  return lock;
}

/** Runs `f` holding the run folder's lock; the lock is released however `f` ends. */
export async function withRunFolderLock<T>(out: string, purpose: string, note: (line: string) => void, f: () => Promise<T>): Promise<T> {
  const lock = await lockRunFolder(out, purpose, note);
  try {
    return await f();
  } finally {
    await lock.release();
  }
}
