import type { Command } from 'commander';
import { Presets, SingleBar } from 'cli-progress';
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { urlFileProvider, type FileProvider } from '../../engine/data/fileProvider.ts';
import { DEFAULT_HUB_MIRROR } from '../../engine/data/parquetSource.ts';
import { nodeDirProvider } from '../../engine/platform/node/nodeFiles.ts';
import { ASSET_CACHE, sharedRoot } from '../../devtools/assetRoot.ts';
import { ASSET_MANIFEST, type AssetEntry } from '../assets/assetManifest.ts';
import { fetchAsset, staleAssets } from '../assets/fetchAssets.ts';
import { packageRoot } from '../packageRoot.ts';

export interface AssetsOptions {
  /** Asset mirror: an http(s) URL or a folder with the shared layout (`assets/…`, `tools/refbert/…`). */
  mirror?: string;
  /** Base URL of the Hub (or a mirror with its layout) for the GLUE Parquet files, e.g. https://huggingface.co. */
  hub?: string;
  /** Checkout root; the cache is `<root>/.cache/shared`. */
  root: string;
  progress?: boolean;
  entries?: readonly AssetEntry[];
}

/** The checkout this CLI runs from (from the sources or from the dist-cli bundle), wherever it is invoked. */
const checkoutRoot = packageRoot();
const isUrl = (s: string) => /^https?:\/\//.test(s);
const provider = (s: string): FileProvider => (isUrl(s) ? urlFileProvider(s) : nodeDirProvider(resolve(s)));
const mib = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;

/**
 * Makes sure every manifest file is present with its SHA-256. With `../shared` beside the checkout (or
 * TASKSCOPE_SHARED) and no --mirror, the files there are checked and used in place: nothing is copied.
 * Otherwise the missing or stale files are downloaded into `.cache/shared`. Returns the exit code.
 */
export async function runAssets(o: AssetsOptions, print: (line: string) => void): Promise<number> {
  const entries = o.entries ?? ASSET_MANIFEST;
  const inPlace = sharedRoot(o.root);
  const cache = resolve(o.root, ASSET_CACHE);
  if (!o.mirror && inPlace !== cache) {
    const stale = await staleAssets(inPlace, entries);
    for (const e of stale) print(`  ${e.path}: missing or not matching its SHA-256`);
    print(
      stale.length
        ? `${stale.length} of ${entries.length} files in ${inPlace} are missing or differ`
        : `all ${entries.length} files present in ${inPlace} (SHA-256 checked); nothing copied`,
    );
    return stale.length ? 1 : 0;
  }
  const mirror = o.mirror ?? process.env.TASKSCOPE_MIRROR;
  const todo = await staleAssets(cache, entries);
  if (!todo.length) {
    print(`all ${entries.length} files present in ${cache} (SHA-256 checked)`);
    return 0;
  }
  if (!mirror) throw new Error(`${todo.length} asset files missing in ${cache} and no mirror: pass --mirror <url|folder> (or set TASKSCOPE_MIRROR)`);
  if (!isUrl(mirror) && !(existsSync(mirror) && statSync(mirror).isDirectory())) throw new Error(`--mirror: ${mirror} is neither an http(s) URL nor a folder`);
  const sources = { mirror: provider(mirror), hub: o.hub ? provider(o.hub) : undefined };
  const total = todo.reduce((s, e) => s + e.bytes, 0);
  print(`fetching ${todo.length} of ${entries.length} files (${mib(total)}) from ${mirror}${o.hub ? ` (GLUE Parquet from ${o.hub})` : ''} into ${cache}`);
  const bar =
    o.progress !== false && process.stderr.isTTY
      ? new SingleBar({ format: '|{bar}| {percentage}% | {value}/{total} bytes | {file}', stream: process.stderr }, Presets.shades_classic)
      : null;
  bar?.start(total, 0, { file: '' });
  let done = 0;
  try {
    for (const e of todo) {
      bar?.update(done, { file: e.path });
      await fetchAsset(e, cache, sources, (n) => bar?.update((done += n)));
    }
  } finally {
    bar?.stop();
  }
  print(`fetched ${todo.length} files into ${cache}`);
  return 0;
}

export function registerAssetsCommand(program: Command) {
  program
    .command('assets')
    .description('fetch the GLUE Parquet files, BERT-Tiny config/vocabulary and test fixtures (SHA-256 checked) into .cache/shared')
    .option('--mirror <url|dir>', 'asset mirror with the shared layout (assets/…, tools/…); default $TASKSCOPE_MIRROR')
    .option('--hub [url]', `take the GLUE Parquet files from the Hub (${DEFAULT_HUB_MIRROR} without a value, as the app) or a mirror with its layout`)
    .option('--no-progress', 'no progress bar')
    .action(async (o: { mirror?: string; hub?: string | true; progress: boolean }) => {
      const hub = o.hub === true ? DEFAULT_HUB_MIRROR : o.hub;
      const code = await runAssets({ ...o, hub, root: checkoutRoot }, (l) => console.log(l));
      if (code) process.exitCode = code;
    });
}
