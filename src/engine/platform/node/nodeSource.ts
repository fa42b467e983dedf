// The only checkpoint module that touches the file system: everything else also runs in browsers.
import { access, mkdir, readFile } from 'node:fs/promises';
import { atomicWriteFile } from './nodeAtomicWrite.ts';
import { basename, join, resolve } from 'node:path';
import { CheckpointError, errorText } from '../../checkpoint/checkpointError.ts';
import type { ModelSource } from '../../checkpoint/modelSource.ts';

/** A checkpoint folder on disk. */
export function dirSource(dir: string): ModelSource {
  const root = resolve(dir);
  const pathOf = (name: string) => join(root, name);
  async function read(name: string): Promise<Buffer> {
    try {
      return await readFile(pathOf(name));
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new CheckpointError(pathOf(name), code === 'ENOENT' ? 'file not found' : errorText(e));
    }
  }
  return {
    describe: () => root,
    async readText(name) {
      return (await read(name)).toString('utf8');
    },
    async readBytes(name, onProgress) {
      const buf = await read(name);
      const bytes = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
      onProgress?.(bytes.length, bytes.length);
      return bytes;
    },
    async has(name) {
      try {
        await access(pathOf(name));
        return true;
      } catch {
        return false;
      }
    },
  };
}

/** Write `saveBertCheckpoint`'s files into `dir` (created if needed). Names must be plain file names. */
export async function writeFolder(dir: string, files: ReadonlyMap<string, string | Uint8Array>): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (const [name, content] of files) {
    if (basename(name) !== name || name === '..' || name === '.') {
      throw new CheckpointError(name, 'not a plain file name; refusing to write outside the folder');
    }
    await atomicWriteFile(join(dir, name), content);
  }
}
