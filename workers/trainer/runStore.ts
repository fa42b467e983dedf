import { openDB, type DBSchema, type IDBPDatabase } from 'idb';
import type { RunRecord, RunSummary } from './types.ts';

/**
 * The workbench's own IndexedDB: run records (summary, loss curve, what a resume needs) and a cache of model
 * folders fetched from the Hub or a mirror. Train states (weights + optimiser) live in the engine's
 * IdbTrainStateStore ("taskscope-runs"), keyed by the same run id.
 */

export const WORKBENCH_DB = 'taskscope-workbench';

export interface CachedModelFiles {
  base: string;
  savedAt: string;
  files: Record<string, Uint8Array>;
}

interface WorkbenchDb extends DBSchema {
  runs: { key: string; value: RunRecord };
  models: { key: string; value: CachedModelFiles };
}

let dbPromise: Promise<IDBPDatabase<WorkbenchDb>> | undefined;

function db(): Promise<IDBPDatabase<WorkbenchDb>> {
  dbPromise ??= openDB<WorkbenchDb>(WORKBENCH_DB, 1, {
    upgrade(d) {
      d.createObjectStore('runs', { keyPath: 'id' });
      d.createObjectStore('models', { keyPath: 'base' });
    },
  });
  return dbPromise;
}

/** The summary fields only (no loss curve, vocabulary or config): what the Results list needs. */
export function summaryOf(r: RunRecord): RunSummary {
  const { losses: _l, data: _d, options: _o, configJson: _c, vocabText: _v, doLowerCase: _dl, ...summary } = r;
  return summary;
}

export async function putRun(record: RunRecord): Promise<void> {
  await (await db()).put('runs', record);
}

export async function getRun(id: string): Promise<RunRecord | undefined> {
  return (await db()).get('runs', id);
}

export async function listRuns(): Promise<RunSummary[]> {
  const all = await (await db()).getAll('runs');
  return all.map(summaryOf).sort((a, b) => b.createdAt.localeCompare(a.createdAt));
}

export async function deleteRun(id: string): Promise<void> {
  await (await db()).delete('runs', id);
}

export async function getCachedModel(base: string): Promise<CachedModelFiles | undefined> {
  return (await db()).get('models', base);
}

export async function putCachedModel(entry: CachedModelFiles): Promise<void> {
  await (await db()).put('models', entry);
}
