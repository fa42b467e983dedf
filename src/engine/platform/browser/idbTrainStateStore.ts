import { openDB, type DBSchema, type IDBPDatabase } from 'idb';
import { isStorageFull } from '../../data/shardStore.ts';
import type { StoredTrainState, TrainStateStore } from '../../train/trainState.ts';

export const RUNS_DB_NAME = 'taskscope-runs';

interface RunsDb extends DBSchema {
  /** One record per run: the latest state, written in one put so it is never half-saved. */
  states: { key: string; value: { json: string; tensors: ArrayBuffer; step: number; savedAt: string } };
}

/** Another tab or worker is writing this run. */
export class RunInUseError extends Error {
  override name = 'RunInUseError';
}

/** A save ran out of browser storage; the run's previous state is intact (the save is one transaction). */
export class TrainStateQuotaError extends Error {
  override name = 'TrainStateQuotaError';
  constructor(
    message: string,
    readonly keptStep: number | null,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

interface WebLocks {
  request(name: string, options: { signal: AbortSignal }, callback: (lock: unknown) => Promise<void> | void): Promise<void>;
}

/** How long open() waits for a run's lock: a lock just released (a tab closing, a run restarted) takes a moment to free. */
const WRITER_LOCK_WAIT_MS = 3000;

/** Writer locks this context holds, by name: a relaunch of a run in the same worker reuses its own lock. */
const heldHere = new Map<string, { users: number; release: () => void }>();

/**
 * One writer per run across tabs: a Web Lock (`navigator.locks`) held from open() to close(). Without Web
 * Locks (old browsers, Node) there is nothing to coordinate with and the store opens unlocked.
 */
async function acquireWriterLock(name: string, what: string): Promise<(() => void) | null> {
  const locks = (globalThis as { navigator?: { locks?: WebLocks } }).navigator?.locks;
  if (!locks) return null;
  const mine = heldHere.get(name);
  if (mine) {
    mine.users++;
    return () => releaseHere(name);
  }
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), WRITER_LOCK_WAIT_MS);
  const got = await new Promise<boolean>((resolve, reject) => {
    locks
      .request(name, { signal: abort.signal }, () => {
        clearTimeout(timer);
        resolve(true);
        return held;
      })
      .catch((e: Error) => (e?.name === 'AbortError' ? resolve(false) : reject(e)));
  });
  if (!got) throw new RunInUseError(`${what} is open for writing in another tab or window; close it there (or wait for its run to end) before continuing here`);
  heldHere.set(name, { users: 1, release });
  return () => releaseHere(name);
}

function releaseHere(name: string): void {
  const h = heldHere.get(name);
  if (!h || --h.users > 0) return;
  heldHere.delete(name);
  h.release();
}

/** Train states in IndexedDB, one per run id (the trainer worker; Node tests use fake-indexeddb). */
export class IdbTrainStateStore implements TrainStateStore {
  private constructor(
    private readonly db: IDBPDatabase<RunsDb>,
    private readonly dbName: string,
    readonly runId: string,
    private readonly unlock: (() => void) | null,
  ) {}

  /** `writer`: hold the run's Web Lock until close(), so a second tab cannot train the same run. */
  static async open(runId: string, dbName = RUNS_DB_NAME, opts: { writer?: boolean } = {}): Promise<IdbTrainStateStore> {
    const what = `IndexedDB "${dbName}" run "${runId}"`;
    const unlock = opts.writer ? await acquireWriterLock(`taskscope-run:${dbName}:${runId}`, what) : null;
    try {
      const db = await openDB<RunsDb>(dbName, 1, {
        upgrade(d) {
          d.createObjectStore('states');
        },
      });
      return new IdbTrainStateStore(db, dbName, runId, unlock);
    } catch (e) {
      unlock?.();
      throw e;
    }
  }

  describe(): string {
    return `IndexedDB "${this.dbName}" run "${this.runId}"`;
  }

  async save(state: StoredTrainState, step: number): Promise<void> {
    const tensors = state.tensors.slice().buffer as ArrayBuffer;
    try {
      await this.db.put('states', { json: state.json, tensors, step, savedAt: new Date().toISOString() }, this.runId);
    } catch (e) {
      if (!isStorageFull(e)) throw e;
      const kept = await this.db.get('states', this.runId).then(
        (r) => r?.step ?? null,
        () => null,
      );
      const keptText = kept === null ? 'no earlier state of this run is stored' : `the state of step ${kept} is intact`;
      throw new TrainStateQuotaError(
        `storage full (browser quota) while saving the train state of step ${step} (${(state.tensors.byteLength / 1e6).toFixed(1)} MB) to ${this.describe()}: ${(e as Error).message}; ${keptText} and nothing of step ${step} was kept; free space (delete old runs or cached datasets) and resume the run${kept === null ? '' : ` from step ${kept}`}`,
        kept,
        { cause: e },
      );
    }
  }

  async load(): Promise<StoredTrainState | null> {
    const rec = await this.db.get('states', this.runId);
    return rec ? { json: rec.json, tensors: new Uint8Array(rec.tensors) } : null;
  }

  async delete(): Promise<void> {
    await this.db.delete('states', this.runId);
  }

  close(): void {
    this.db.close();
    this.unlock?.();
  }
}
