/**
 * Node-only file access for the data sources (the CLI, tests and benchmarks). The browser uses
 * fileProvider.ts (URLs, picked files) and zipProvider.ts with File.stream() instead.
 */
import { open, stat } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import type { AsyncBuffer } from 'hyparquet';
import { DataError } from '../../data/dataError.ts';
import type { FileProvider } from '../../data/fileProvider.ts';
import { ParquetSource, hubUrlProvider, type ParquetProvider } from '../../data/parquetSource.ts';
import { TsvSource } from '../../data/tsvSource.ts';
import { zipFileProvider } from '../../data/zipProvider.ts';
import type { DataSource } from '../../data/types.ts';
import { nodeInputLimits } from './nodeInputLimits.ts';

const CHUNK = 1 << 20;

async function isFile(path: string): Promise<number | null> {
  try {
    const s = await stat(path);
    return s.isFile() ? s.size : null;
  } catch {
    return null;
  }
}

/** 'dir', 'file' or null (missing). */
async function kindOf(path: string): Promise<'dir' | 'file' | 'other' | null> {
  try {
    const s = await stat(path);
    return s.isDirectory() ? 'dir' : s.isFile() ? 'file' : 'other';
  } catch {
    return null;
  }
}

/** A file as a web ReadableStream, read in 1 MiB chunks. */
export function nodeFileStream(path: string): ReadableStream<Uint8Array> {
  let fh: Awaited<ReturnType<typeof open>> | undefined;
  return new ReadableStream<Uint8Array>({
    async start() {
      fh = await open(path, 'r');
    },
    async pull(controller) {
      const buf = new Uint8Array(CHUNK);
      const { bytesRead } = await fh!.read(buf, 0, CHUNK, null);
      if (bytesRead === 0) {
        await fh!.close();
        controller.close();
      } else controller.enqueue(buf.subarray(0, bytesRead));
    },
    async cancel() {
      await fh?.close();
    },
  });
}

/** A folder on disk. */
export function nodeDirProvider(root: string): FileProvider {
  const dir = resolve(root);
  return {
    describe: () => dir,
    // Anything at the path exists: a directory named dev.tsv is a broken split, not a missing one.
    exists: async (path) => (await kindOf(resolve(dir, path))) !== null,
    async open(path) {
      const full = resolve(dir, path);
      const kind = await kindOf(full);
      if (kind === null) return null;
      if (kind !== 'file')
        throw new DataError({ file: full, reason: `is ${kind === 'dir' ? 'a directory' : 'not a regular file'}, not a TSV file`, fatal: true });
      const size = (await isFile(full))!;
      return { stream: nodeFileStream(full), size, name: full };
    },
  };
}

export function nodeZipProvider(zipPath: string): FileProvider {
  return zipFileProvider(() => nodeFileStream(zipPath), resolve(zipPath), nodeInputLimits());
}

/** Each slice opens, reads and closes the file, so no handle outlives a read (hyparquet asks for a few ranges). */
export async function nodeAsyncBuffer(path: string): Promise<AsyncBuffer> {
  const { size } = await stat(path);
  return {
    byteLength: size,
    async slice(start, end = size) {
      const buf = new Uint8Array(Math.max(0, Math.min(end, size) - start));
      const fh = await open(path, 'r');
      try {
        let off = 0;
        while (off < buf.length) {
          const { bytesRead } = await fh.read(buf, off, buf.length - off, start + off);
          if (bytesRead === 0) break;
          off += bytesRead;
        }
      } finally {
        await fh.close();
      }
      return buf.buffer;
    },
  };
}

/** A folder in the Hub's URL layout (`<dir>/datasets/nyu-mll/glue/resolve/main/...`), e.g. ../shared/assets/hub. */
export function hubDirProvider(root: string): ParquetProvider {
  const dir = resolve(root);
  return {
    describe: () => dir,
    async open(relPath) {
      const full = resolve(dir, relPath);
      return (await isFile(full)) === null ? null : { file: await nodeAsyncBuffer(full), name: full };
    },
  };
}

/** `--dir <GLUE folder | glue.zip>` → TSV source. */
export async function tsvSourceFromPath(path: string): Promise<DataSource> {
  const kind = await kindOf(path);
  if (kind === null) throw new DataError({ file: resolve(path), reason: 'not found (give the GLUE folder or a zip of it)', fatal: true });
  if (kind === 'file' && /\.zip$/i.test(basename(path))) return new TsvSource(nodeZipProvider(path));
  if (kind !== 'dir')
    throw new DataError({ file: resolve(path), reason: 'neither a folder nor a .zip file (give the GLUE folder or a zip of it)', fatal: true });
  return new TsvSource(nodeDirProvider(path));
}

/** `--hub <mirror URL | folder in Hub layout>` → Parquet source. */
export function parquetSourceFromPath(mirrorOrDir: string): DataSource {
  return new ParquetSource(/^https?:\/\//i.test(mirrorOrDir) ? hubUrlProvider(mirrorOrDir) : hubDirProvider(mirrorOrDir), nodeInputLimits());
}
