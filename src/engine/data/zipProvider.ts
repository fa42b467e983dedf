import { Unzip, UnzipInflate, type UnzipFile } from 'fflate';
import { DataError, errorText } from './dataError.ts';
import type { FileProvider } from './fileProvider.ts';

interface ZipEntry {
  name: string;
  size?: number;
}

/**
 * A zip of a GLUE folder, read with fflate's streaming Unzip: the archive is streamed front to back and only
 * the wanted entry is inflated, so a multi-GB glue_data.zip is never held in memory. `openZip` must return a
 * fresh byte stream each time (File.stream(), a fetch body, a Node read stream).
 */
export function zipFileProvider(openZip: () => ReadableStream<Uint8Array>, zipName: string): FileProvider {
  let listing: Promise<ZipEntry[]> | undefined;
  const entries = () => (listing ??= listEntries(openZip, zipName));
  return {
    describe: () => zipName,
    list: async () => (await entries()).map((e) => e.name),
    exists: async (path) => (await entries()).some((e) => e.name === path),
    async open(path) {
      const entry = (await entries()).find((e) => e.name === path);
      if (!entry) return null;
      return { stream: entryStream(openZip, zipName, path), size: entry.size, name: `${zipName}!${path}` };
    },
  };
}

function zipError(zipName: string, e: unknown): DataError {
  return new DataError({ file: zipName, reason: `not a readable zip archive (${errorText(e)})`, fatal: true });
}

async function listEntries(openZip: () => ReadableStream<Uint8Array>, zipName: string): Promise<ZipEntry[]> {
  const found: ZipEntry[] = [];
  // Entries are never started, so fflate skips their data without inflating it.
  const unzip = new Unzip((f: UnzipFile) => {
    if (!f.name.endsWith('/')) found.push({ name: f.name, size: f.originalSize });
  });
  const reader = openZip().getReader();
  let total = 0;
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      total += value.byteLength;
      unzip.push(value, false);
    }
    unzip.push(new Uint8Array(0), true);
  } catch (e) {
    throw zipError(zipName, e);
  } finally {
    reader.releaseLock();
  }
  if (total === 0) throw new DataError({ file: zipName, reason: 'empty file', fatal: true });
  if (found.length === 0) throw new DataError({ file: zipName, reason: 'not a zip archive, or an empty one (no entries found)', fatal: true });
  return found;
}

/** The inflated bytes of one entry, pulled on demand so a slow consumer slows the zip reading down. */
function entryStream(openZip: () => ReadableStream<Uint8Array>, zipName: string, path: string): ReadableStream<Uint8Array> {
  let reader: ReadableStreamDefaultReader<Uint8Array>;
  let unzip: Unzip;
  const queue: Uint8Array[] = [];
  let found = false;
  let entryDone = false;
  let zipDone = false;
  let failure: unknown;
  return new ReadableStream<Uint8Array>({
    start() {
      reader = openZip().getReader();
      unzip = new Unzip((f: UnzipFile) => {
        if (f.name !== path || found) return;
        found = true;
        f.ondata = (err, data, final) => {
          if (err) failure = err;
          else {
            if (data.length > 0) queue.push(data);
            if (final) entryDone = true;
          }
        };
        f.start();
      });
      unzip.register(UnzipInflate);
    },
    async pull(controller) {
      try {
        while (queue.length === 0 && !entryDone && !zipDone && failure === undefined) {
          const { value, done } = await reader.read();
          if (done) {
            zipDone = true;
            unzip.push(new Uint8Array(0), true);
          } else unzip.push(value, false);
        }
      } catch (e) {
        failure = e;
      }
      if (failure !== undefined) {
        controller.error(zipError(`${zipName}!${path}`, failure));
        await reader.cancel().catch(() => {});
        return;
      }
      if (queue.length > 0) {
        controller.enqueue(queue.shift()!);
        return;
      }
      if (!entryDone) {
        controller.error(new DataError({ file: `${zipName}!${path}`, reason: 'the zip ends before this entry is complete (truncated zip?)', fatal: true }));
        return;
      }
      controller.close();
      await reader.cancel().catch(() => {});
    },
    async cancel() {
      await reader.cancel().catch(() => {});
    },
  });
}
