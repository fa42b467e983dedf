import { CheckpointError } from './checkpointError.ts';
import type { ModelSource, ProgressCallback } from './modelSource.ts';

/** Files from an `<input type=file>` (a folder pick gives `webkitRelativePath`s), or blobs keyed by path. */
export type PickedFiles = Iterable<File> | ReadonlyMap<string, Blob> | Readonly<Record<string, Blob>>;

interface Entry {
  path: string;
  blob: Blob;
}

const basename = (path: string) => path.slice(path.lastIndexOf('/') + 1);
const depth = (path: string) => path.split('/').length;

/**
 * User-picked files, looked up by basename. When a picked folder holds the same name twice
 * (`config.json` and `checkpoint-500/config.json`), the shallowest one wins; a tie is an error.
 */
export function filesSource(picked: PickedFiles): ModelSource {
  const entries: Entry[] = [];
  if (picked instanceof Map) {
    for (const [path, blob] of picked) entries.push({ path, blob });
  } else if (Symbol.iterator in picked) {
    for (const f of picked as Iterable<File>) entries.push({ path: f.webkitRelativePath || f.name, blob: f });
  } else {
    for (const [path, blob] of Object.entries(picked)) entries.push({ path, blob });
  }
  const folder = commonFolder(entries.map((e) => e.path));
  const label = folder ? `picked folder ${folder}` : 'picked files';

  function find(name: string): Entry | undefined {
    const matches = entries.filter((e) => basename(e.path) === name);
    if (matches.length <= 1) return matches[0];
    const shallowest = Math.min(...matches.map((e) => depth(e.path)));
    const best = matches.filter((e) => depth(e.path) === shallowest);
    if (best.length > 1) {
      throw new CheckpointError(label, `${best.length} files named ${name} were picked (${best.map((e) => e.path).join(', ')})`);
    }
    return best[0];
  }
  function get(name: string): Entry {
    const e = find(name);
    if (!e) throw new CheckpointError(label, `no file named ${name} among the picked files`);
    return e;
  }

  return {
    describe: () => folder ?? 'picked files',
    async readText(name) {
      return get(name).blob.text();
    },
    async readBytes(name, onProgress?: ProgressCallback) {
      const { blob } = get(name);
      const bytes = new Uint8Array(await blob.arrayBuffer());
      onProgress?.(bytes.length, bytes.length);
      return bytes;
    },
    async has(name) {
      return find(name) !== undefined;
    },
  };
}

function commonFolder(paths: string[]): string | undefined {
  const firsts = new Set(paths.map((p) => (p.includes('/') ? p.slice(0, p.indexOf('/')) : '')));
  const [only] = firsts;
  return firsts.size === 1 && only ? only : undefined;
}
