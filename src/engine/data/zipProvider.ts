import { Unzip, UnzipInflate, type UnzipFile } from 'fflate';
import { DataError, errorText } from './dataError.ts';
import type { FileProvider } from './fileProvider.ts';
import { DEFAULT_INPUT_LIMITS, overLimit, pastRatio, ratioReason, type InputLimits } from './inputLimits.ts';

interface ZipEntry {
  name: string;
  size?: number;
}

/** Bounds on what one archive entry may inflate to (see inputLimits.ts); kept as a name for the zip's callers. */
export type ZipLimits = InputLimits;
export const DEFAULT_ZIP_LIMITS: ZipLimits = DEFAULT_INPUT_LIMITS;

/** Compressed bytes handed to the inflater at a time: one push then inflates to at most ~1032× this. */
const PUSH_BYTES = 16 * 1024;

/** `..` segments, absolute paths, drive letters and backslashes: names a careless extractor would write outside its folder. */
export function unsafeEntryName(name: string): boolean {
  return name.startsWith('/') || /^[A-Za-z]:/.test(name) || name.includes('\\') || name.split('/').some((p) => p === '..') || name.includes('\0');
}

/**
 * A zip of a GLUE folder, read with fflate's streaming Unzip: the archive is streamed front to back and only
 * the wanted entry is inflated, so a multi-GB glue_data.zip is never held in memory. `openZip` must return a
 * fresh byte stream each time (File.stream(), a fetch body, a Node read stream).
 */
export function zipFileProvider(openZip: () => ReadableStream<Uint8Array>, zipName: string, limits: ZipLimits = DEFAULT_ZIP_LIMITS): FileProvider {
  let listing: Promise<ZipEntry[]> | undefined;
  const entries = () => (listing ??= listEntries(openZip, zipName));
  return {
    describe: () => zipName,
    list: async () => (await entries()).map((e) => e.name),
    exists: async (path) => (await entries()).some((e) => e.name === path),
    async open(path) {
      const entry = (await entries()).find((e) => e.name === path);
      if (!entry) return null;
      const where = `${zipName}!${path}`;
      if (entry.size !== undefined && entry.size > limits.maxEntryBytes) throw entryTooBig(where, limits, entry.size, true);
      return { stream: entryStream(openZip, zipName, path, limits), size: entry.size, name: where };
    },
  };
}

function zipError(zipName: string, e: unknown): DataError {
  return new DataError({ file: zipName, reason: `not a readable zip archive (${errorText(e)})`, fatal: true });
}

async function listEntries(openZip: () => ReadableStream<Uint8Array>, zipName: string): Promise<ZipEntry[]> {
  const found: ZipEntry[] = [];
  // Entries are never started, so fflate skips their data without inflating it.
  const unsafe: string[] = [];
  const unzip = new Unzip((f: UnzipFile) => {
    if (unsafeEntryName(f.name)) unsafe.push(f.name);
    else if (!f.name.endsWith('/')) found.push({ name: f.name, size: f.originalSize });
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
  if (unsafe.length > 0) {
    const shown =
      unsafe
        .slice(0, 3)
        .map((n) => JSON.stringify(n))
        .join(', ') + (unsafe.length > 3 ? ` and ${unsafe.length - 3} more` : '');
    throw new DataError({
      file: zipName,
      reason: `entry names that point outside the archive's folder (absolute, "..", drive letter or backslash): ${shown}; refusing the archive`,
      fatal: true,
    });
  }
  if (found.length === 0) throw new DataError({ file: zipName, reason: 'not a zip archive, or an empty one (no entries found)', fatal: true });
  return found;
}

function entryTooBig(where: string, limits: ZipLimits, size: number, declared: boolean): DataError {
  const what = declared ? `declares ${size} bytes inflated` : `inflates past ${limits.maxEntryBytes} bytes (stopped at ${size})`;
  return new DataError({ file: where, reason: overLimit(what, limits, 'maxEntryBytes', 'archive entry'), fatal: true });
}

/**
 * The inflated bytes of one entry, pulled on demand so a slow consumer slows the zip reading down. The
 * compressed bytes are pushed in small slices and only while nothing inflated is waiting, so memory holds at
 * most one slice's output; the entry's size and its inflation ratio are checked as it inflates.
 */
function entryStream(openZip: () => ReadableStream<Uint8Array>, zipName: string, path: string, limits: ZipLimits): ReadableStream<Uint8Array> {
  const where = `${zipName}!${path}`;
  let reader: ReadableStreamDefaultReader<Uint8Array>;
  let unzip: Unzip;
  const queue: Uint8Array[] = [];
  let found = false;
  let entryDone = false;
  let zipDone = false;
  let failure: unknown;
  let limitHit: DataError | undefined;
  /** The current compressed chunk and how far into it the inflater has been fed. */
  let chunk: Uint8Array | null = null;
  let offset = 0;
  /** Zip bytes fed in all, where the slice that started the entry began, and bytes the entry inflated to. */
  let fed = 0;
  let sliceStart = 0;
  let entryStart = 0;
  let inflated = 0;
  return new ReadableStream<Uint8Array>({
    start() {
      reader = openZip().getReader();
      unzip = new Unzip((f: UnzipFile) => {
        if (f.name !== path || found) return;
        found = true;
        // Counting from the start of the slice that revealed the entry over-counts its compressed bytes a little,
        // so the ratio check errs on the lenient side.
        entryStart = sliceStart;
        f.ondata = (err, data, final) => {
          if (err) failure = err;
          else {
            inflated += data.length;
            if (inflated > limits.maxEntryBytes) limitHit ??= entryTooBig(where, limits, inflated, false);
            else if (pastRatio(inflated, fed - entryStart, limits)) {
              limitHit ??= new DataError({ file: where, reason: ratioReason(inflated, `at most ${fed - entryStart}`, limits, 'a zip bomb'), fatal: true });
            }
            if (data.length > 0 && !limitHit) queue.push(data);
            if (final) entryDone = true;
          }
        };
        f.start();
      });
      unzip.register(UnzipInflate);
    },
    async pull(controller) {
      try {
        while (queue.length === 0 && !entryDone && !zipDone && failure === undefined && !limitHit) {
          if (!chunk || offset >= chunk.length) {
            const { value, done } = await reader.read();
            if (done) {
              zipDone = true;
              unzip.push(new Uint8Array(0), true);
              continue;
            }
            chunk = value;
            offset = 0;
          }
          const slice = chunk.subarray(offset, offset + PUSH_BYTES);
          offset += slice.length;
          sliceStart = fed;
          fed += slice.length;
          unzip.push(slice, false);
        }
      } catch (e) {
        failure = e;
      }
      if (limitHit) {
        queue.length = 0;
        controller.error(limitHit);
        await reader.cancel().catch(() => {});
        return;
      }
      if (failure !== undefined) {
        controller.error(zipError(where, failure));
        await reader.cancel().catch(() => {});
        return;
      }
      if (queue.length > 0) {
        controller.enqueue(queue.shift()!);
        return;
      }
      if (!entryDone) {
        controller.error(new DataError({ file: where, reason: 'the zip ends before this entry is complete (truncated zip?)', fatal: true }));
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
