import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { hashFor, openTab, smallSynthetic, tableMatrix, waitForApp, waitForRunEnd, workerImportance } from './appHelpers.ts';
import { SITE_PREFIX, useBuiltSite } from './builtSite.ts';

/**
 * `vite build` output served from a sub-path by a plain static server (no COOP/COEP or other special
 * headers): the page, its workers and the wasm binaries must all resolve relative to the page.
 */

const site = useBuiltSite('taskscope-build-');

test('the built site works from a sub-path: synthetic demo smoke test with workers and wasm resolved relative', async () => {
  const assets = readdirSync(join(site.outDir, 'assets'));
  expect(assets.some((f) => /^trainer\.worker-.*\.js$/.test(f))).toBe(true);
  expect(assets.filter((f) => f.endsWith('.wasm')).length).toBe(3);

  const { page, errors } = await site.newPage();
  await page.goto(
    `${site.server.baseUrl}${SITE_PREFIX}${hashFor(smallSynthetic({ rows: 32, backend: 'wasm' }), { demo: { importanceEvery: 4, devRows: 16, probeRows: 16 } })}`,
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
  expect(site.server.log.filter((l) => l.startsWith('404'))).toEqual([]);
  expect(site.server.log.every((l) => l.slice(4).startsWith(SITE_PREFIX))).toBe(true);
  expect(site.server.log.some((l) => /^200 \/taskscope\/assets\/trainer\.worker-[\w-]+\.js$/.test(l))).toBe(true);
  expect(site.server.log.some((l) => /^200 \/taskscope\/assets\/tfjs-backend-wasm(-simd)?-[\w-]+\.wasm$/.test(l))).toBe(true);
  expect(errors).toEqual([]);
  await page.close();
});
