import { loadBertCheckpoint } from '../../src/engine/checkpoint/hfFolder.ts';
import { urlSource, type ModelSource } from '../../src/engine/checkpoint/modelSource.ts';
import type { BertCheckpoint } from '../../src/engine/checkpoint/types.ts';
import { getCachedModel, putCachedModel } from './runStore.ts';

/**
 * Loads an HF folder from a URL and keeps its files in IndexedDB, so the demo model is downloaded once and
 * still loads when the network (or the Hub) is gone later.
 */

type Progress = (loaded: number, total: number | undefined) => void;

/** Remembers the bytes of every file read through it. */
function recording(source: ModelSource, files: Record<string, Uint8Array>): ModelSource {
  const enc = new TextEncoder();
  return {
    describe: () => source.describe(),
    has: (name) => source.has(name),
    async readText(name) {
      const text = await source.readText(name);
      files[name] = enc.encode(text);
      return text;
    },
    async readBytes(name, onProgress) {
      const bytes = await source.readBytes(name, onProgress);
      files[name] = bytes;
      return bytes;
    },
  };
}

function memorySource(origin: string, files: Record<string, Uint8Array>): ModelSource {
  const dec = new TextDecoder();
  const get = (name: string) => {
    const f = files[name];
    if (!f) throw new Error(`${origin}/${name}: not in the cached copy`);
    return f;
  };
  return {
    describe: () => origin,
    has: async (name) => name in files,
    readText: async (name) => dec.decode(get(name)),
    async readBytes(name, onProgress) {
      const b = get(name);
      onProgress?.(b.length, b.length);
      return b;
    },
  };
}

export async function loadCachedCheckpoint(base: string, onProgress?: Progress): Promise<{ checkpoint: BertCheckpoint; fromCache: boolean }> {
  const files: Record<string, Uint8Array> = {};
  try {
    const checkpoint = await loadBertCheckpoint(recording(urlSource(base), files), onProgress ? { onProgress } : {});
    await putCachedModel({ base, savedAt: new Date().toISOString(), files }).catch(() => {
      // A full quota only costs the offline copy; the model is loaded.
    });
    return { checkpoint, fromCache: false };
  } catch (e) {
    const cached = await getCachedModel(base).catch(() => undefined);
    if (!cached) throw e;
    return { checkpoint: await loadBertCheckpoint(memorySource(base, cached.files), onProgress ? { onProgress } : {}), fromCache: true };
  }
}
