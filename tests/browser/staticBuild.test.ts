import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { build } from 'vite';
import { chromium, type Browser } from 'playwright-core';
import { assetsDir, repoRoot } from '../helpers/shared.ts';
import { hashFor, openTab, smallSynthetic, tableMatrix, waitForApp, waitForRunEnd, workerImportance } from './appHelpers.ts';
import { CHROMIUM_PATH } from './harness.ts';
import { startStaticServer, type StaticServer } from './staticServer.ts';

/**
 * `vite build` output served from a sub-path by a plain static server (no COOP/COEP or other special
 * headers): the page, its workers and the wasm binaries must all resolve relative to the page.
 */

const PREFIX = '/taskscope/';
let outDir: string;
let server: StaticServer;
let browser: Browser;

beforeAll(async () => {
  outDir = mkdtempSync(join(tmpdir(), 'taskscope-build-'));
  await build({ configFile: resolve(repoRoot, 'vite.config.ts'), root: repoRoot, logLevel: 'warn', build: { outDir, emptyOutDir: true } });
  server = await startStaticServer(outDir, PREFIX, assetsDir);
  browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: ['--enable-unsafe-webgpu'] });
}, 300_000);

afterAll(async () => {
  await browser?.close().catch(() => {});
  await server?.close();
  if (outDir) rmSync(outDir, { recursive: true, force: true });
});

test('the built site works from a sub-path: synthetic demo smoke test with workers and wasm resolved relative', async () => {
  const assets = readdirSync(join(outDir, 'assets'));
  expect(assets.some((f) => /^trainer\.worker-.*\.js$/.test(f))).toBe(true);
  expect(assets.filter((f) => f.endsWith('.wasm')).length).toBe(3);

  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}`);
  });
  await page.goto(
    `${server.baseUrl}${PREFIX}${hashFor(smallSynthetic({ rows: 32, backend: 'wasm' }), { demo: { importanceEvery: 4, devRows: 16, probeRows: 16 } })}`,
  );
  await waitForApp(page);
  await page.getByTestId('run-synthetic').click();
  expect(await waitForRunEnd(page, 180_000)).toBe('done');

  await openTab(page, 'Train');
  await expect.poll(() => page.getByTestId('loss-chart').locator('g[aria-label="line"] path').count()).toBe(4);
  const imp = (await workerImportance(page))!;
  await openTab(page, 'Heads');
  expect(await tableMatrix(page, 'heads-numbers')).toEqual(imp.tasks['SYN-FIRST'].map((r) => r.map((x) => Number(x.toFixed(4)))));

  // Everything came from under the sub-path, nothing was missing, and the wasm binary was fetched from there.
  expect(server.log.filter((l) => l.startsWith('404'))).toEqual([]);
  expect(server.log.every((l) => l.slice(4).startsWith(PREFIX))).toBe(true);
  expect(server.log.some((l) => /^200 \/taskscope\/assets\/trainer\.worker-[\w-]+\.js$/.test(l))).toBe(true);
  expect(server.log.some((l) => /^200 \/taskscope\/assets\/tfjs-backend-wasm(-simd)?-[\w-]+\.wasm$/.test(l))).toBe(true);
  expect(errors).toEqual([]);
  await page.close();
});
