// Node only: one writer per folder (a run folder, a shard-cache dataset) across processes.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { link, open, readFile, rename, rm, stat, unlink } from 'node:fs/promises';

export interface LockOwner {
  pid: number;
  host: string;
  /** Unique per writer (process + instance), also used in its temporary file names. */
  writer: string;
  since: string;
  /** What the owner is doing, for the refusal message (e.g. "taskscope train"). */
  purpose: string;
}

/** Another live process holds the lock. */
export class LockHeldError extends Error {
  constructor(
    readonly path: string,
    readonly owner: LockOwner | null,
  ) {
    super(
      owner
        ? `${path}: in use by ${owner.purpose} (pid ${owner.pid} on ${owner.host}, since ${owner.since}); ${whatToDo(path, owner)}`
        : `${path}: in use by another process (the lock file is being written)`,
    );
    this.name = 'LockHeldError';
  }
}

/**
 * A lock of this host is released or taken over by itself; one of another host (a shared or network folder) is
 * never taken over, as its pid cannot be checked from here, so the user is told how to clear it.
 */
function whatToDo(path: string, owner: LockOwner): string {
  if (owner.host === hostname()) return 'wait for it to finish or stop it';
  return `that host is not this one (${hostname()}), so whether pid ${owner.pid} still runs cannot be checked from here: wait for it to finish, or, if that process is known to be gone, remove ${path} and run again`;
}

/** A writer id unique to this process and call: `<pid>-<8 hex>`. */
export function newWriterId(): string {
  return `${process.pid}-${randomBytes(4).toString('hex')}`;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: the process exists but belongs to someone else.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function readOwner(path: string): Promise<LockOwner | null | 'missing'> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 'missing';
    throw e;
  }
  try {
    const o = JSON.parse(text) as LockOwner;
    return typeof o.pid === 'number' && typeof o.host === 'string' ? o : null;
  } catch {
    return null; // being written right now (the owner writes it in one call after creating it), or garbage
  }
}

/** An empty or unreadable lock older than this was left by a writer killed between creating and filling it. */
const UNREADABLE_LOCK_STALE_MS = 10_000;

/** A lock whose owner is a dead process on this host: another host's pids cannot be checked from here. */
async function isStale(path: string, o: LockOwner | null): Promise<boolean> {
  if (o === null) {
    const st = await stat(path).catch(() => null);
    return st !== null && Date.now() - st.mtimeMs > UNREADABLE_LOCK_STALE_MS;
  }
  return o.host === hostname() && !alive(o.pid);
}

export interface FileLock {
  readonly path: string;
  readonly owner: LockOwner;
  /** The lock taken over from a dead process, if any. */
  readonly tookOverFrom: LockOwner | null;
  release(): Promise<void>;
}

/**
 * Takes `path` as an exclusive lock file (O_EXCL create) holding the owner's pid and host. A lock left by a
 * dead process on this host is taken over: it is first renamed to a name unique to this writer (only one
 * contender's rename can succeed), then checked to still be the stale one; a live lock moved by mistake is
 * linked back (link fails instead of overwriting if a third writer got in). `wait` polls a live lock until
 * it is released (the shard cache: a second builder waits and then reuses the first one's result).
 */
export async function acquireFileLock(
  path: string,
  opts: { purpose: string; writer?: string; wait?: boolean; pollMs?: number; signal?: AbortSignal },
): Promise<FileLock> {
  const owner: LockOwner = { pid: process.pid, host: hostname(), writer: opts.writer ?? newWriterId(), since: new Date().toISOString(), purpose: opts.purpose };
  let tookOverFrom: LockOwner | null = null;
  for (let attempt = 0; ; attempt++) {
    opts.signal?.throwIfAborted();
    try {
      const fh = await open(path, 'wx');
      try {
        await fh.writeFile(`${JSON.stringify(owner)}\n`);
        await fh.sync();
      } finally {
        await fh.close();
      }
      return { path, owner, tookOverFrom, release: () => releaseLock(path, owner) };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const other = await readOwner(path);
    if (other === 'missing') continue;
    if (await isStale(path, other)) {
      const aside = `${path}.stale-${owner.writer}`;
      try {
        await rename(path, aside);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue; // another contender moved it first
        throw e;
      }
      const moved = await readOwner(aside);
      if (moved !== 'missing' && moved !== null && moved.writer !== other?.writer) {
        // We moved a fresh lock taken between our read and our rename: give it back.
        await link(aside, path).catch(() => undefined);
        await unlink(aside).catch(() => undefined);
        continue;
      }
      await rm(aside, { force: true });
      tookOverFrom = other;
      continue;
    }
    if (opts.wait) {
      await new Promise((r) => setTimeout(r, Math.min(opts.pollMs ?? 100, 25 * (attempt + 1))));
      continue;
    }
    throw new LockHeldError(path, other);
  }
}

async function releaseLock(path: string, owner: LockOwner): Promise<void> {
  const now = await readOwner(path);
  // Only our own lock: a lock taken over after we were presumed dead is not ours to remove.
  if (now !== 'missing' && now !== null && now.writer === owner.writer) await rm(path, { force: true });
}
