/**
 * Node-only file access for the data sources (the CLI, tests and benchmarks). The browser uses
 * fileProvider.ts (URLs, picked files) and zipProvider.ts with File.stream() instead.
 */
import { open, stat } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import type { AsyncBuffer } from 'hyparquet';
import type { FileProvider } from './fileProvider.ts';
import { ParquetSource, hubUrlProvider, type ParquetProvider } from './parquetSource.ts';
import { TsvSource } from './tsvSource.ts';
import { zipFileProvider } from './zipProvider.ts';
import type { DataSource } from './types.ts';

const CHUNK = 1 << 20;

async function isFile(path: string): Promise<number | null> {
  try {
    const s = await stat(path);
    return s.isFile() ? s.size : null;
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
    exists: async (path) => (await isFile(resolve(dir, path))) !== null,
    async open(path) {
      const full = resolve(dir, path);
      const size = await isFile(full);
      return size === null ? null : { stream: nodeFileStream(full), size, name: full };
    },
  };
}

export function nodeZipProvider(zipPath: string): FileProvider {
  return zipFileProvider(() => nodeFileStream(zipPath), resolve(zipPath));
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
  if ((await isFile(path)) !== null && /\.zip$/i.test(basename(path))) return new TsvSource(nodeZipProvider(path));
  return new TsvSource(nodeDirProvider(path));
}

/** `--hub <mirror URL | folder in Hub layout>` → Parquet source. */
export function parquetSourceFromPath(mirrorOrDir: string): DataSource {
  return new ParquetSource(/^https?:\/\//i.test(mirrorOrDir) ? hubUrlProvider(mirrorOrDir) : hubDirProvider(mirrorOrDir));
}
