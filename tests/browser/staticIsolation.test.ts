import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { build } from 'vite';
import { chromium, type Browser } from 'playwright-core';
import { assetsDir, repoRoot } from '../helpers/shared.ts';
import { waitForApp } from './appHelpers.ts';
import { CHROMIUM_PATH } from './harness.ts';
import { startStaticServer, type StaticServer } from './staticServer.ts';

/**
 * The built (minified) site on a plain static host that sends no COOP/COEP headers: public/coi-serviceworker.js
 * must make the page cross-origin isolated after one reload, and the trainer worker must then run threaded
 * wasm; before the bundle-time fix (src/devtools/tfjsWasmThreads.ts) its pthread workers threw
 * "e is not defined" and tf.setBackend('wasm') never resolved.
 */

const PREFIX = '/taskscope/';
let outDir: string;
let server: StaticServer;
let browser: Browser;

beforeAll(async () => {
  outDir = mkdtempSync(join(tmpdir(), 'taskscope-coi-'));
  await build({ configFile: resolve(repoRoot, 'vite.config.ts'), root: repoRoot, logLevel: 'warn', build: { outDir, emptyOutDir: true } });
  server = await startStaticServer(outDir, PREFIX, assetsDir);
  browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: ['--enable-unsafe-webgpu'] });
}, 300_000);

afterAll(async () => {
  await browser?.close().catch(() => {});
  await server?.close();
  if (outDir) rmSync(outDir, { recursive: true, force: true });
});

test('the built index.html loads the isolation service worker from the site folder', () => {
  const html = readFileSync(join(outDir, 'index.html'), 'utf8');
  expect(html).toContain('<script src="./coi-serviceworker.js"></script>');
  expect(readFileSync(join(outDir, 'coi-serviceworker.js'), 'utf8')).toContain("headers.set('Cross-Origin-Embedder-Policy', 'require-corp')");
});

test('without server headers the page becomes cross-origin isolated through the service worker and wasm runs threaded', async () => {
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}`);
  });
  await page.goto(`${server.baseUrl}${PREFIX}`);
  await page.waitForFunction(() => crossOriginIsolated, undefined, { timeout: 60_000 });
  await waitForApp(page);
  const cores = await page.evaluate(() => Math.min(8, navigator.hardwareConcurrency));
  expect(cores).toBeGreaterThan(1);
  expect(await page.getByTestId('device-backend').textContent()).toBe('wasm');
  // The visible text: the component's markup may break the line inside it.
  expect((await page.getByTestId('device-threads').textContent())?.replace(/\s+/g, ' ').trim()).toBe(`${cores} threads`);
  expect(await page.evaluate(() => navigator.serviceWorker.controller?.scriptURL)).toBe(`${server.baseUrl}${PREFIX}coi-serviceworker.js`);
  // The page was served once without the worker, then once through it.
  expect(server.log.filter((l) => l === `200 ${PREFIX}`).length).toBe(2);
  expect(errors).toEqual([]);
});
