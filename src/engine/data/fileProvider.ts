import { DataError, errorText } from './dataError.ts';

export interface OpenedFile {
  stream: ReadableStream<Uint8Array>;
  /** Bytes, when known before reading (for progress and ETA). */
  size?: number;
  /** Full name for messages: a path, a URL or `zip!entry`. */
  name: string;
}

/** Read access to a folder of files, however they arrive (disk, URL base, picked files, zip). Paths use '/'. */
export interface FileProvider {
  describe(): string;
  /** Every file's path, when the provider can list (zip, picked files); URL bases and folders probe instead. */
  list?(): Promise<string[]>;
  /** The file, or null when it does not exist. */
  open(path: string): Promise<OpenedFile | null>;
  exists(path: string): Promise<boolean>;
}

function joinUrl(base: string, path: string): string {
  return `${base.replace(/\/+$/, '')}/${path.split('/').map(encodeURIComponent).join('/')}`;
}

/** A GLUE folder served over HTTP (the local mirror, or any static host). */
export function urlFileProvider(base: string, fetchImpl: typeof fetch = globalThis.fetch): FileProvider {
  return {
    describe: () => base,
    async exists(path) {
      const res = await fetchImpl(joinUrl(base, path), { method: 'HEAD' }).catch(() => null);
      return !!res && res.ok;
    },
    async open(path) {
      const url = joinUrl(base, path);
      let res: Response;
      try {
        res = await fetchImpl(url);
      } catch (e) {
        throw new DataError({ file: url, reason: `cannot fetch (${errorText(e)})`, fatal: true });
      }
      if (res.status === 404) return null;
      if (!res.ok || !res.body) throw new DataError({ file: url, reason: `HTTP ${res.status} ${res.statusText}`, fatal: true });
      const len = Number(res.headers.get('content-length'));
      return { stream: res.body, size: len > 0 ? len : undefined, name: url };
    },
  };
}

/** The relative path a picked file had inside the picked folder (or just its name for loose files). */
export function pickedPath(f: File): string {
  return f.webkitRelativePath || f.name;
}

/** Files the user picked (an `<input webkitdirectory>` folder, or loose files); paths from webkitRelativePath. */
export function fileListProvider(files: readonly File[], label = 'picked files'): FileProvider {
  const byPath = new Map(files.map((f) => [pickedPath(f), f] as const));
  return {
    describe: () => label,
    list: async () => [...byPath.keys()],
    exists: async (path) => byPath.has(path),
    async open(path) {
      const f = byPath.get(path);
      if (!f) return null;
      return { stream: f.stream() as ReadableStream<Uint8Array>, size: f.size, name: path };
    },
  };
}

/** In-memory files (tests, small uploads). */
export function memoryFileProvider(files: Record<string, Uint8Array | string>, label = 'memory'): FileProvider {
  const enc = new TextEncoder();
  const bytes = new Map(Object.entries(files).map(([p, v]) => [p, typeof v === 'string' ? enc.encode(v) : v] as const));
  return {
    describe: () => label,
    list: async () => [...bytes.keys()],
    exists: async (path) => bytes.has(path),
    async open(path) {
      const b = bytes.get(path);
      if (!b) return null;
      return { stream: new Blob([b as BlobPart]).stream() as ReadableStream<Uint8Array>, size: b.byteLength, name: `${label}/${path}` };
    },
  };
}
