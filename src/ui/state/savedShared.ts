import type { Experiment } from '../../engine/experiment/experimentSchema.ts';
import { parseAppExperiment } from '../../urlState/appExperiment.ts';
import { packSnapshot, snapshotMismatch, unpackSnapshot, type ResultSnapshot, type SnapshotWire } from '../../urlState/snapshot.ts';

/**
 * Shared results a user chose to keep: the link's snapshot and experiment, stored in this browser
 * (localStorage, in the link's own compact form) so Results can compare them with local runs. Every entry is
 * validated again when read, exactly as a link is; an entry that no longer validates is left out, not shown.
 */

export interface SavedShared {
  id: string;
  savedAt: string;
  experiment: Experiment;
  snapshot: ResultSnapshot;
}

interface StoredEntry {
  id: string;
  savedAt: string;
  experiment: unknown;
  snapshot: SnapshotWire;
}

const KEY = 'taskscope.savedShared';
export const MAX_SAVED_SHARED = 50;

function readRaw(storage: Pick<Storage, 'getItem'> | null): StoredEntry[] {
  try {
    const raw = storage?.getItem(KEY);
    const list = raw ? (JSON.parse(raw) as unknown) : [];
    return Array.isArray(list) ? (list as StoredEntry[]) : [];
  } catch {
    return [];
  }
}

export function loadSavedShared(storage: Pick<Storage, 'getItem'> | null): SavedShared[] {
  const out: SavedShared[] = [];
  for (const e of readRaw(storage)) {
    try {
      const experiment = parseAppExperiment(e.experiment, 'saved shared results');
      const snapshot = unpackSnapshot(e.snapshot);
      if (snapshotMismatch(snapshot, experiment)) continue;
      if (typeof e.id !== 'string' || typeof e.savedAt !== 'string') continue;
      out.push({ id: e.id, savedAt: e.savedAt, experiment, snapshot });
    } catch {
      // Not valid any more (edited storage, an older format): skipped like a bad link.
    }
  }
  return out;
}

export function saveShared(storage: Pick<Storage, 'getItem' | 'setItem'>, experiment: Experiment, snapshot: ResultSnapshot, now = new Date()): SavedShared {
  const entry: StoredEntry = { id: `shared-${now.getTime().toString(36)}`, savedAt: now.toISOString(), experiment, snapshot: packSnapshot(snapshot) };
  storage.setItem(KEY, JSON.stringify([...readRaw(storage), entry].slice(-MAX_SAVED_SHARED)));
  return { id: entry.id, savedAt: entry.savedAt, experiment, snapshot };
}

export function deleteShared(storage: Pick<Storage, 'getItem' | 'setItem'>, id: string): void {
  storage.setItem(KEY, JSON.stringify(readRaw(storage).filter((e) => e.id !== id)));
}
