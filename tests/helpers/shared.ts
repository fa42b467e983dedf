import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sharedRoot } from '../../src/devtools/assetRoot.ts';

/** Repository root (this file lives in tests/helpers). */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * `../shared` beside the checkout (CI), TASKSCOPE_SHARED, or the cache `npm run assets` fills; the global setup
 * (tests/helpers/assetsSetup.ts) has checked that every manifest file is there before any test runs.
 */
export const sharedDir = sharedRoot(repoRoot);
export const assetsDir = resolve(sharedDir, 'assets');
export const glueDir = resolve(assetsDir, 'glue');
export const hubDir = resolve(assetsDir, 'hub');

/** Committed fixtures (tests/fixtures) and the one too large to commit (fetched by `npm run assets`). */
const FIXTURE_DIRS = { 'random-tiny': resolve(repoRoot, 'tests/fixtures'), 'bert-tiny-arch-random': resolve(assetsDir, 'fixtures') } as const;
export const FIXTURE_NAMES = ['random-tiny', 'bert-tiny-arch-random'] as const;
export type FixtureName = (typeof FIXTURE_NAMES)[number];

const cache = new Map<string, any>();
/** The float64 reference outputs (refbert) for one fixture checkpoint; tests/fixtures/README.md says how they were made. */
export function loadFixture(name: FixtureName): any {
  if (!cache.has(name)) cache.set(name, JSON.parse(readFileSync(resolve(FIXTURE_DIRS[name], `${name}.json`), 'utf8')));
  return cache.get(name);
}
export const fixtureModelDir = (name: FixtureName) => resolve(FIXTURE_DIRS[name], name);
