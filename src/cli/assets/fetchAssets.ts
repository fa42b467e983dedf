import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { FileProvider } from '../../engine/data/fileProvider.ts';
import { HUB_PREFIX, type AssetEntry } from './assetManifest.ts';

/** Where each file comes from: the asset mirror (a copy of the shared layout), and optionally the Hub for `assets/hub/`. */
export interface AssetSources {
  mirror: FileProvider;
  hub?: FileProvider;
}

async function fileSha256(path: string): Promise<string | null> {
  try {
    if (!(await stat(path)).isFile()) return null;
  } catch {
    return null;
  }
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** The entries whose file under `root` is absent or has another SHA-256 than the manifest's. */
export async function staleAssets(root: string, entries: readonly AssetEntry[]): Promise<AssetEntry[]> {
  const stale: AssetEntry[] = [];
  for (const e of entries) if ((await fileSha256(resolve(root, e.path))) !== e.sha256) stale.push(e);
  return stale;
}

function sourceOf(e: AssetEntry, sources: AssetSources): { provider: FileProvider; path: string } {
  if (sources.hub && e.path.startsWith(HUB_PREFIX)) return { provider: sources.hub, path: e.path.slice(HUB_PREFIX.length) };
  return { provider: sources.mirror, path: e.path };
}

/**
 * Downloads one entry to `root/<path>`: streamed to `<path>.part` while hashing, renamed into place only when
 * the SHA-256 matches, so a bad or interrupted download never replaces a good file.
 */
export async function fetchAsset(e: AssetEntry, root: string, sources: AssetSources, onBytes: (n: number) => void = () => {}): Promise<void> {
  const { provider, path } = sourceOf(e, sources);
  const opened = await provider.open(path);
  if (!opened) throw new Error(`${provider.describe()}: ${path} not found`);
  const dest = resolve(root, e.path);
  const part = `${dest}.part`;
  await mkdir(dirname(dest), { recursive: true });
  const fh = await open(part, 'w');
  const hash = createHash('sha256');
  try {
    const reader = opened.stream.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      hash.update(value);
      await fh.write(value);
      onBytes(value.byteLength);
    }
  } finally {
    await fh.close();
  }
  const got = hash.digest('hex');
  if (got !== e.sha256) {
    await rm(part, { force: true });
    throw new Error(`${opened.name}: SHA-256 ${got} does not match the manifest's ${e.sha256} for ${e.path}`);
  }
  await rename(part, dest);
}
