import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { createLogger, createServer, type ViteDevServer } from 'vite';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { repoRoot } from '../helpers/shared.ts';
import { CHROMIUM_PATH } from './harness.ts';

/**
 * A newcomer's first `npm start`: an empty dependency cache and the repo's vite.config.ts as it is (the shared
 * harness pre-bundles its own list, which would hide a missing entry). Vite pre-bundles the dependencies it finds
 * up front; one it only finds later (an import inside a worker) makes it re-bundle and reload the page, which
 * loses whatever the user did in the first seconds.
 */
let server: ViteDevServer;
let browser: Browser;
let cacheDir: string;
const viteLog: string[] = [];

beforeAll(async () => {
  cacheDir = await mkdtemp(join(tmpdir(), 'taskscope-vite-cold-'));
  const logger = createLogger('info');
  const keep = (level: string) => (msg: string) => viteLog.push(`${level}: ${msg}`);
  Object.assign(logger, { info: keep('info'), warn: keep('warn'), warnOnce: keep('warn'), error: keep('error') });
  server = await createServer({
    configFile: resolve(repoRoot, 'vite.config.ts'),
    root: repoRoot,
    customLogger: logger,
    clearScreen: false,
    cacheDir,
    server: { host: '127.0.0.1', port: 0, strictPort: true, watch: null },
  });
  await server.listen();
  browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: ['--enable-unsafe-webgpu'] });
});

afterAll(async () => {
  await browser?.close().catch(() => {});
  await server?.close();
  if (cacheDir) await rm(cacheDir, { recursive: true, force: true });
});

test('the first visit with an empty dependency cache loads once: no dependency found late, no reload', async () => {
  const base = `http://127.0.0.1:${(server.httpServer!.address() as AddressInfo).port}`;
  const page = await browser.newPage();
  // Document loads (a reload is one more); the app's hash updates are same-document navigations, not counted.
  let loads = 0;
  const reloadNotes: string[] = [];
  page.on('domcontentloaded', () => loads++);
  page.on('console', (m) => {
    if (/optimized dependencies|reloading/i.test(m.text())) reloadNotes.push(m.text());
  });
  await page.goto(`${base}/index.html`, { waitUntil: 'commit', timeout: 240_000 });
  // The trainer worker is up once the device panel names its backend.
  await page.getByTestId('device-backend').waitFor({ timeout: 240_000 });
  // Every worker's module graph, the way the page requests it (Vite follows each file's static imports).
  for (const w of ['trainer', 'data', 'model']) {
    const r = await fetch(`${base}/workers/${w}.worker.ts?worker_file&type=module`);
    expect(r.status).toBe(200);
  }
  await page.getByRole('tab', { name: 'Model', exact: true }).click();
  await page.getByRole('tab', { name: 'Embeddings', exact: true }).click();
  // Vite commits late discoveries once the server is idle; give it that time on a loaded machine.
  await page.waitForTimeout(20_000);
  expect(viteLog.filter((l) => /dependenc(y|ies) optimized:|new dependencies|optimized dependencies changed|reloading|optimizeDeps/i.test(l))).toEqual([]);
  expect(reloadNotes).toEqual([]);
  expect(loads).toBe(1);
});

test('when "Run demo" cannot download, the page offers the dev server\'s mirror of the shared assets', async () => {
  const base = `http://127.0.0.1:${(server.httpServer!.address() as AddressInfo).port}`;
  const page = await browser.newPage();
  await page.goto(`${base}/index.html`, { waitUntil: 'commit', timeout: 240_000 });
  await page.getByTestId('demo-mirror').fill('http://127.0.0.1:9'); // nothing listens there
  await page.getByTestId('run-demo').click();
  await page.getByTestId('offline').waitFor({ timeout: 120_000 });
  await page.getByTestId('offline-dev-mirror').click();
  expect(await page.getByTestId('demo-mirror').inputValue()).toBe('./mirror/hub');
  expect(await page.getByTestId('demo-model').inputValue()).toBe('./mirror/fixtures/bert-tiny-arch-random');
  // What the button points at is there: the model's config through the dev server's /mirror/.
  const config = await page.evaluate(async () => (await fetch('./mirror/fixtures/bert-tiny-arch-random/config.json')).json());
  expect(config.num_hidden_layers).toBe(2);
  await page.close();
});
