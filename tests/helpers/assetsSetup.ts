import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { ASSET_MANIFEST } from '../../src/cli/assets/assetManifest.ts';
import { repoRoot, sharedDir } from './shared.ts';

const sizeOf = (path: string) => {
  try {
    return statSync(path).size;
  } catch {
    return -1;
  }
};

/**
 * Vitest global setup: stops the run with one line when the assets the tests read are absent. It compares
 * sizes only (fast); `npm run assets` checks the SHA-256 of each file.
 */
export default function checkAssets() {
  const missing = ASSET_MANIFEST.filter((e) => sizeOf(resolve(sharedDir, e.path)) !== e.bytes);
  if (missing.length) {
    const rel = sharedDir.startsWith(repoRoot) ? sharedDir.slice(repoRoot.length + 1) : sharedDir;
    // One line and out: a thrown error would bury the command under vitest's stack trace and file listing.
    process.stderr.write(
      `test assets missing (${missing.length} of ${ASSET_MANIFEST.length} files, e.g. ${missing[0].path}, in ${rel}): run \`npm run assets -- --mirror <url>\` first\n`,
    );
    process.exit(1);
  }
}
