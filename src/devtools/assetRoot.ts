import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

/** Where the assets cache lives inside a checkout (gitignored; filled by `npm run assets`). */
export const ASSET_CACHE = '.cache/shared';

/**
 * The folder holding `assets/` (GLUE, Hub Parquet, BERT-Tiny, fixtures) and `tools/refbert/` for a checkout:
 * `TASKSCOPE_SHARED` when set, else `../shared` beside the checkout when it has `assets/` (the CI machines),
 * else the cache `npm run assets` fills.
 */
export function sharedRoot(repoRoot: string): string {
  if (process.env.TASKSCOPE_SHARED) return resolve(process.env.TASKSCOPE_SHARED);
  const beside = resolve(repoRoot, '../shared');
  return existsSync(resolve(beside, 'assets')) ? beside : resolve(repoRoot, ASSET_CACHE);
}
