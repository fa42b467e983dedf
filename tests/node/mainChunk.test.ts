import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { build } from 'vite';
import { repoRoot } from '../helpers/shared.ts';

/**
 * The page never runs a tensor, so its main chunk must not carry tfjs: the UI imports types and plain modules
 * of the engine, and the workers' chunks hold the tensor code (docs/architecture.md). tfjs-core's environment
 * flag names are string literals that survive minification, so they mark tfjs in a chunk.
 */
const TFJS_MARKERS = ['IS_BROWSER', 'WEBGL_VERSION', 'CHECK_COMPUTATION_FOR_ERRORS'];
const markersIn = (text: string) => TFJS_MARKERS.filter((m) => [`'${m}'`, `"${m}"`, `\`${m}\``].some((q) => text.includes(q)));

let outDir: string;
let chunks: string[];
const read = (f: string) => readFileSync(join(outDir, 'assets', f), 'utf8');

beforeAll(async () => {
  outDir = mkdtempSync(join(tmpdir(), 'taskscope-chunks-'));
  await build({ configFile: resolve(repoRoot, 'vite.config.ts'), root: repoRoot, logLevel: 'warn', build: { outDir, emptyOutDir: true } });
  chunks = readdirSync(join(outDir, 'assets')).filter((f) => f.endsWith('.js'));
}, 300_000);
afterAll(() => rmSync(outDir, { recursive: true, force: true }));

describe('built page', () => {
  it('the chunk index.html loads holds no tfjs', () => {
    const main = readFileSync(join(outDir, 'index.html'), 'utf8').match(/<script[^>]+src="[^"]*assets\/(index-[^"]+\.js)"/)?.[1];
    expect(main, 'index.html names its entry chunk').toMatch(/^index-.+\.js$/);
    expect(markersIn(read(main!))).toEqual([]);
  });

  it('the trainer worker chunk does hold tfjs (so the markers would find it)', () => {
    const worker = chunks.find((f) => /^trainer\.worker-.+\.js$/.test(f));
    expect(worker).toBeDefined();
    expect(markersIn(read(worker!))).toEqual(TFJS_MARKERS);
  });
});
