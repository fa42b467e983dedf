import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { waitForApp } from './appHelpers.ts';
import { SITE_PREFIX, useBuiltSite } from './builtSite.ts';

/**
 * The built (minified) site on a plain static host that sends no COOP/COEP headers: public/coi-serviceworker.js
 * must make the page cross-origin isolated after one reload, and the trainer worker must then run threaded
 * wasm; before the bundle-time fix (src/devtools/tfjsWasmThreads.ts) its pthread workers threw
 * "e is not defined" and tf.setBackend('wasm') never resolved.
 */

const site = useBuiltSite('taskscope-coi-');

test('the built index.html loads the isolation service worker from the site folder', () => {
  const html = readFileSync(join(site.outDir, 'index.html'), 'utf8');
  expect(html).toContain('<script src="./coi-serviceworker.js"></script>');
  expect(readFileSync(join(site.outDir, 'coi-serviceworker.js'), 'utf8')).toContain("headers.set('Cross-Origin-Embedder-Policy', 'require-corp')");
});

test('without server headers the page becomes cross-origin isolated through the service worker and wasm runs threaded', async () => {
  const { page, errors } = await site.newPage();
  await page.goto(`${site.server.baseUrl}${SITE_PREFIX}`);
  await page.waitForFunction(() => crossOriginIsolated, undefined, { timeout: 60_000 });
  await waitForApp(page);
  const cores = await page.evaluate(() => Math.min(8, navigator.hardwareConcurrency));
  expect(cores).toBeGreaterThan(1);
  expect(await page.getByTestId('device-backend').textContent()).toBe('wasm');
  // The visible text: the component's markup may break the line inside it.
  expect((await page.getByTestId('device-threads').textContent())?.replace(/\s+/g, ' ').trim()).toBe(`${cores} threads`);
  expect(await page.evaluate(() => navigator.serviceWorker.controller?.scriptURL)).toBe(`${site.server.baseUrl}${SITE_PREFIX}coi-serviceworker.js`);
  // The page was served once without the worker, then once through it.
  expect(site.server.log.filter((l) => l === `200 ${SITE_PREFIX}`).length).toBe(2);
  expect(errors).toEqual([]);
});
