import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repository root (this file lives in tests/helpers). */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** `../shared` beside the checkout (CI clones with it there); TASKSCOPE_SHARED overrides. */
export const sharedDir = process.env.TASKSCOPE_SHARED ?? resolve(repoRoot, '../shared');
export const assetsDir = resolve(sharedDir, 'assets');
export const fixturesDir = resolve(assetsDir, 'fixtures');
export const glueDir = resolve(assetsDir, 'glue');
export const hubDir = resolve(assetsDir, 'hub');

if (!existsSync(assetsDir)) {
  throw new Error(`shared assets not found at ${assetsDir}: clone with ../shared beside the repo or set TASKSCOPE_SHARED`);
}

export const FIXTURE_NAMES = ['random-tiny', 'bert-tiny-arch-random'] as const;
export type FixtureName = (typeof FIXTURE_NAMES)[number];

const cache = new Map<string, any>();
/** The float64 reference outputs of ../shared/tools/refbert for one fixture checkpoint. */
export function loadFixture(name: FixtureName): any {
  if (!cache.has(name)) cache.set(name, JSON.parse(readFileSync(resolve(fixturesDir, `${name}.json`), 'utf8')));
  return cache.get(name);
}
export const fixtureModelDir = (name: FixtureName) => resolve(fixturesDir, name);
