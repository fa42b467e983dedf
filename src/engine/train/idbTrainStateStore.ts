import { openDB, type DBSchema, type IDBPDatabase } from 'idb';
import type { StoredTrainState, TrainStateStore } from './trainState.ts';

export const RUNS_DB_NAME = 'taskscope-runs';

interface RunsDb extends DBSchema {
  /** One record per run: the latest state, written in one put so it is never half-saved. */
  states: { key: string; value: { json: string; tensors: ArrayBuffer; step: number; savedAt: string } };
}

/** Train states in IndexedDB, one per run id (the trainer worker; Node tests use fake-indexeddb). */
export class IdbTrainStateStore implements TrainStateStore {
  private constructor(private readonly db: IDBPDatabase<RunsDb>, private readonly dbName: string, readonly runId: string) {}

  static async open(runId: string, dbName = RUNS_DB_NAME): Promise<IdbTrainStateStore> {
    const db = await openDB<RunsDb>(dbName, 1, {
      upgrade(d) {
        d.createObjectStore('states');
      },
    });
    return new IdbTrainStateStore(db, dbName, runId);
  }

  describe(): string {
    return `IndexedDB "${this.dbName}" run "${this.runId}"`;
  }

  async save(state: StoredTrainState, step: number): Promise<void> {
    const tensors = state.tensors.slice().buffer as ArrayBuffer;
    await this.db.put('states', { json: state.json, tensors, step, savedAt: new Date().toISOString() }, this.runId);
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
  }
}
