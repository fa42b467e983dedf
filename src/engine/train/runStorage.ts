import { CheckpointError } from '../checkpoint/checkpointError.ts';
import type { ModelSource } from '../checkpoint/modelSource.ts';

/**
 * Where a pipeline run keeps its files (checkpoint folders, metrics JSON, prediction JSONL, the submission
 * zip): a folder on disk in Node (the CLI), IndexedDB or memory in the browser. Paths are relative and use '/'.
 */
export interface RunStorage {
  describe(): string;
  /** The file's bytes, or null when it does not exist. */
  read(path: string): Promise<Uint8Array | null>;
  /** Creates or replaces a file (and the folders above it); a reader never sees half of one. */
  write(path: string, data: Uint8Array | string): Promise<void>;
  exists(path: string): Promise<boolean>;
}

/** Rejects absolute paths and `..`, so a stage cannot write outside its run. */
export function checkRunPath(path: string): string {
  const parts = path.split('/');
  if (path === '' || path.startsWith('/') || parts.some((p) => p === '' || p === '.' || p === '..')) {
    throw new Error(`run storage: "${path}" is not a relative path inside the run`);
  }
  return path;
}

export async function readText(storage: RunStorage, path: string): Promise<string | null> {
  const bytes = await storage.read(path);
  return bytes === null ? null : new TextDecoder().decode(bytes);
}

export async function requireText(storage: RunStorage, path: string, what: string): Promise<string> {
  const text = await readText(storage, path);
  if (text === null) throw new Error(`${storage.describe()}/${path}: not found (${what})`);
  return text;
}

/** A run held in memory (tests; a page that downloads the results at the end). */
export class MemoryRunStorage implements RunStorage {
  readonly files = new Map<string, Uint8Array>();
  constructor(private readonly label = 'memory') {}
  describe(): string {
    return this.label;
  }
  async read(path: string): Promise<Uint8Array | null> {
    const f = this.files.get(checkRunPath(path));
    return f ? f.slice() : null;
  }
  async write(path: string, data: Uint8Array | string): Promise<void> {
    this.files.set(checkRunPath(path), typeof data === 'string' ? new TextEncoder().encode(data) : data.slice());
  }
  async exists(path: string): Promise<boolean> {
    return this.files.has(checkRunPath(path));
  }
}

/** A checkpoint folder inside a run, for loadBertCheckpoint. */
export function runFolderSource(storage: RunStorage, folder: string): ModelSource {
  const where = `${storage.describe()}/${folder}`;
  const get = async (name: string) => {
    const bytes = await storage.read(`${folder}/${name}`);
    if (!bytes) throw new CheckpointError(`${where}/${name}`, 'file not found');
    return bytes;
  };
  return {
    describe: () => where,
    readText: async (name) => new TextDecoder().decode(await get(name)),
    async readBytes(name, onProgress) {
      const bytes = await get(name);
      onProgress?.(bytes.length, bytes.length);
      return bytes;
    },
    has: (name) => storage.exists(`${folder}/${name}`),
  };
}

/** Writes a checkpoint's files (name → content) into a folder of the run. */
export async function writeRunFolder(storage: RunStorage, folder: string, files: ReadonlyMap<string, string | Uint8Array>): Promise<string[]> {
  const written: string[] = [];
  for (const [name, content] of files) {
    const path = `${folder}/${name}`;
    await storage.write(path, content);
    written.push(path);
  }
  return written;
}
