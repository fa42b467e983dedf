// Node only (the CLI): the browser keeps train states in IndexedDB (idbTrainStateStore.ts).
import { mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { newWriterId } from './nodeFileLock.ts';
import { isStorageFull } from '../../data/shardStore.ts';
import type { StoredTrainState, TrainStateStore } from '../../train/trainState.ts';

const JSON_FILE = 'state.json';
const TENSORS_FILE = 'state.safetensors';
/** The pointer: the name of the folder holding the last complete checkpoint. */
const CURRENT = 'CURRENT';
const CKPT_RE = /^ckpt-(\d+)-[\w-]+$/;

/** The file operations a save and a load make; tests inject one that fails or kills the process at the k-th. */
export interface StateFs {
  mkdir(path: string): Promise<void>;
  /** Writes and fsyncs the file. */
  writeFile(path: string, data: Uint8Array | string): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  rm(path: string): Promise<void>;
  readFile(path: string): Promise<Uint8Array>;
  readdir(path: string): Promise<string[]>;
}

export const nodeStateFs: StateFs = {
  mkdir: async (p) => {
    await mkdir(p, { recursive: true });
  },
  async writeFile(p, data) {
    const fh = await open(p, 'w');
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
  },
  rename: (a, b) => rename(a, b),
  rm: (p) => rm(p, { recursive: true, force: true }),
  readFile: async (p) => {
    const b = await readFile(p);
    return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  },
  readdir: (p) => readdir(p),
};

const isMissing = (e: unknown) => (e as NodeJS.ErrnoException)?.code === 'ENOENT';

/** A save failed for lack of space; the last complete checkpoint is intact and nothing of the new one is left. */
export class TrainStateStorageFullError extends Error {
  constructor(
    message: string,
    readonly keptStep: number | null,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'TrainStateStorageFullError';
  }
}

/**
 * `<dir>/CURRENT` names `<dir>/ckpt-<step>-<writer>/` holding `state.json` + `state.safetensors`. A save
 * writes a new checkpoint folder under a name unique to this writer, then switches the pointer with one
 * rename; a save cut at any point leaves the pointer on the last complete checkpoint, and `load()` removes
 * what the cut save left (its folder, a pointer temp file). Folders of the older layout (the two files in
 * `<dir>` itself, renamed one after the other) are still read, and a save cut between their renames is
 * finished: the tensors were renamed first, so a pending `state.json.tmp` belongs to them.
 *
 * One writer per folder: the caller holds the run folder's lock (see nodeFileLock.ts).
 */
export class FolderTrainStateStore implements TrainStateStore {
  readonly dir: string;
  private readonly writer = newWriterId();
  constructor(
    dir: string,
    private readonly fs: StateFs = nodeStateFs,
  ) {
    this.dir = resolve(dir);
  }

  describe(): string {
    return this.dir;
  }

  /** The folder name the pointer names, or null (no state, or the older layout). */
  private async current(): Promise<string | null> {
    try {
      const name = new TextDecoder().decode(await this.fs.readFile(join(this.dir, CURRENT))).trim();
      if (!CKPT_RE.test(name)) throw new Error(`${join(this.dir, CURRENT)}: does not name a checkpoint folder (${JSON.stringify(name.slice(0, 80))})`);
      return name;
    } catch (e) {
      if (isMissing(e)) return null;
      throw e;
    }
  }

  /** The step of the last complete checkpoint, or null when there is none. */
  async savedStep(): Promise<number | null> {
    const cur = await this.current();
    if (cur) return Number(CKPT_RE.exec(cur)![1]);
    const legacy = await this.loadLegacy();
    if (!legacy) return null;
    const step = (JSON.parse(legacy.json) as { step?: unknown }).step;
    return typeof step === 'number' ? step : null;
  }

  async save(state: StoredTrainState, step: number): Promise<void> {
    const previous = await this.current();
    const name = `ckpt-${String(step).padStart(9, '0')}-${this.writer}`;
    const folder = join(this.dir, name);
    const pointerTmp = join(this.dir, `${CURRENT}.tmp-${this.writer}`);
    let writing = folder;
    try {
      await this.fs.mkdir(folder);
      writing = join(folder, TENSORS_FILE);
      await this.fs.writeFile(writing, state.tensors);
      writing = join(folder, JSON_FILE);
      await this.fs.writeFile(writing, state.json);
      writing = pointerTmp;
      await this.fs.writeFile(pointerTmp, `${name}\n`);
      writing = join(this.dir, CURRENT);
      await this.fs.rename(pointerTmp, writing);
    } catch (e) {
      // Nothing half-written stays behind; the pointer still names the last complete checkpoint.
      await this.fs.rm(folder).catch(() => undefined);
      await this.fs.rm(pointerTmp).catch(() => undefined);
      if (isStorageFull(e)) {
        const keptStep = await this.savedStep().catch(() => null);
        const kept = keptStep === null ? 'no earlier checkpoint exists' : `the checkpoint of step ${keptStep} in ${this.dir} is intact`;
        const again = keptStep === null ? 'run the command again to start over' : `run the same command again to resume from step ${keptStep}`;
        throw new TrainStateStorageFullError(
          `storage full while saving the train state of step ${step} to ${writing} (${(e as Error).message}); ${kept} and nothing of step ${step} was kept; free space and ${again}`,
          keptStep,
          { cause: e },
        );
      }
      throw e;
    }
    // The switch is done: what the older checkpoint (or layout) used is garbage now.
    if (previous && previous !== name) await this.fs.rm(join(this.dir, previous));
    if (!previous) for (const f of [JSON_FILE, TENSORS_FILE]) await this.fs.rm(join(this.dir, f));
  }

  async load(): Promise<StoredTrainState | null> {
    await this.recover();
    const cur = await this.current();
    if (!cur) return this.loadLegacy();
    const folder = join(this.dir, cur);
    const read = async (f: string) => {
      try {
        return await this.fs.readFile(join(folder, f));
      } catch (e) {
        if (isMissing(e)) throw new Error(`${join(this.dir, CURRENT)} names ${cur} but ${join(folder, f)} is missing (the folder was changed by hand?)`);
        throw e;
      }
    };
    const tensors = await read(TENSORS_FILE);
    return { json: new TextDecoder().decode(await read(JSON_FILE)), tensors };
  }

  /**
   * Finishes or discards an interrupted save: removes checkpoint folders the pointer does not name and
   * temporary files, and completes an older-layout save cut between its two renames.
   */
  async recover(): Promise<string[]> {
    let names: string[];
    try {
      names = await this.fs.readdir(this.dir);
    } catch (e) {
      if (isMissing(e)) return [];
      throw e;
    }
    const cur = await this.current();
    const removed: string[] = [];
    for (const n of names) {
      if ((CKPT_RE.test(n) && n !== cur) || n.startsWith(`${CURRENT}.tmp-`)) {
        await this.fs.rm(join(this.dir, n));
        removed.push(n);
      }
    }
    if (cur) {
      // Older-layout files a save cut right after its pointer switch did not get to remove.
      for (const f of [JSON_FILE, TENSORS_FILE, `${JSON_FILE}.tmp`, `${TENSORS_FILE}.tmp`]) {
        if (names.includes(f)) {
          await this.fs.rm(join(this.dir, f));
          removed.push(f);
        }
      }
    } else if (names.includes(`${JSON_FILE}.tmp`)) {
      if (names.includes(`${TENSORS_FILE}.tmp`)) {
        // Cut before the first rename: the older state is whole, the new one is dropped.
        await this.fs.rm(join(this.dir, `${TENSORS_FILE}.tmp`));
        await this.fs.rm(join(this.dir, `${JSON_FILE}.tmp`));
        removed.push(`${TENSORS_FILE}.tmp`, `${JSON_FILE}.tmp`);
      } else if (names.includes(TENSORS_FILE)) {
        // Cut between the renames: the tensors are the new step's, so is the pending JSON.
        await this.fs.rename(join(this.dir, `${JSON_FILE}.tmp`), join(this.dir, JSON_FILE));
      }
    } else if (!cur && names.includes(`${TENSORS_FILE}.tmp`)) {
      await this.fs.rm(join(this.dir, `${TENSORS_FILE}.tmp`));
      removed.push(`${TENSORS_FILE}.tmp`);
    }
    return removed;
  }

  private async loadLegacy(): Promise<StoredTrainState | null> {
    let json: Uint8Array;
    try {
      json = await this.fs.readFile(join(this.dir, JSON_FILE));
    } catch (e) {
      if (isMissing(e)) return null;
      throw e;
    }
    const tensors = await this.fs.readFile(join(this.dir, TENSORS_FILE));
    return { json: new TextDecoder().decode(json), tensors };
  }
}
