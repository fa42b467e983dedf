// Node only (the CLI): the browser keeps train states in IndexedDB (idbTrainStateStore.ts).
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { StoredTrainState, TrainStateStore } from './trainState.ts';

const JSON_FILE = 'state.json';
const TENSORS_FILE = 'state.safetensors';

/**
 * `<dir>/state.json` + `<dir>/state.safetensors`. Each file is written to a temporary name and renamed, and
 * both carry the step, so a save cut between the two renames is detected on load instead of mixing steps.
 */
export class FolderTrainStateStore implements TrainStateStore {
  readonly dir: string;
  constructor(dir: string) {
    this.dir = resolve(dir);
  }

  describe(): string {
    return this.dir;
  }

  async save(state: StoredTrainState, _step: number): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const t = join(this.dir, TENSORS_FILE);
    const j = join(this.dir, JSON_FILE);
    await writeFile(`${t}.tmp`, state.tensors);
    await writeFile(`${j}.tmp`, state.json);
    await rename(`${t}.tmp`, t);
    await rename(`${j}.tmp`, j);
  }

  async load(): Promise<StoredTrainState | null> {
    let json: string;
    try {
      json = await readFile(join(this.dir, JSON_FILE), 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw e;
    }
    const buf = await readFile(join(this.dir, TENSORS_FILE));
    return { json, tensors: new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength) };
  }
}
