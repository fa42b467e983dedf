import { afterAll, beforeAll, expect, test } from 'vitest';
import type { Page } from 'playwright-core';
import { openTab, waitForApp } from './appHelpers.ts';
import { startBrowserHarness, type BrowserHarness } from './harness.ts';

/**
 * The "smaller findings" of the workbench review, each as a user meets it: the backend's start-up says what it
 * is doing and for how long, no Svelte warnings on load, the Data view's row counts, the phone header's height
 * and a job bar that never covers the end of a page. No training here.
 */

let h: BrowserHarness;
let page: Page;
const warnings: string[] = [];
const errors: string[] = [];
const START_DELAY_MS = 4000;
const VIEWS = ['Start', 'Data', 'Model', 'Experiment', 'Train', 'Heads', 'Correlation', 'Selection', 'Embeddings', 'Results'];

beforeAll(async () => {
  h = await startBrowserHarness();
  page = await h.browser.newPage();
  page.setDefaultNavigationTimeout(120_000);
  page.on('console', (m) => {
    if (m.type() === 'warning') warnings.push(m.text());
    if (m.type() === 'error' && !m.text().includes('favicon')) errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(e.message));
  // Hold the trainer worker's script back, so the backend is still starting when the page is first looked at.
  await page.route('**/workers/trainer.worker.ts*', async (route) => {
    await new Promise((r) => setTimeout(r, START_DELAY_MS));
    await route.continue();
  });
  await page.setViewportSize({ width: 1440, height: 900 });
  await page.goto(`${h.baseUrl}/index.html`);
});

afterAll(async () => {
  await h?.close();
});

test('while the backend starts, the header says what it is doing, that a first start compiles, and for how long', async () => {
  const starting = page.getByTestId('device-starting');
  await starting.waitFor();
  const text = (await starting.textContent())!.replace(/\s+/g, ' ').trim();
  expect(text).toMatch(/^Backend: starting — choosing between WebGPU and wasm \(a short timing of each\), then loading the winner · \d+ s\. /);
  expect(text).toContain('The first start compiles WebGPU shaders or the wasm binary and can take 3–15 s; later starts are faster.');
  // The seconds count up while it waits (the worker's script is held back START_DELAY_MS).
  await expect.poll(async () => Number((await starting.textContent())!.match(/· (\d+) s\./)![1]), { timeout: 20_000 }).toBeGreaterThanOrEqual(2);
  await page.getByTestId('device-backend').waitFor({ timeout: 120_000 });
  expect(await starting.count()).toBe(0);
  await waitForApp(page);
});

test('no Svelte binding warnings while every view is opened', async () => {
  for (const v of VIEWS) await openTab(page, v);
  expect(warnings.filter((w) => /binding_property_non_reactive|svelte/i.test(w))).toEqual([]);
  expect(errors).toEqual([]);
});

test('the Data view: MNLI has one train count and two named dev counts, with thousands separators', async () => {
  await openTab(page, 'Data');
  const cells = await page
    .getByRole('row')
    .filter({ has: page.getByRole('cell', { name: 'MNLI', exact: true }) })
    .first()
    .locator('td')
    .allTextContents();
  expect(cells.map((c) => c.replace(/\s+/g, ' ').trim())).toEqual(['MNLI', 'classification', 'ACC', '392,702', '9,815 matched, 9,832 mismatched']);
});

test('on a 390 px phone the header, backend line and tabs leave most of the screen to the view', async () => {
  await page.setViewportSize({ width: 390, height: 844 });
  await openTab(page, 'Start');
  await page.evaluate(() => window.scrollTo(0, 0));
  const top = await page.locator('#panel').evaluate((el) => el.getBoundingClientRect().top);
  // The review measured 310 of 844 px; a quarter of the screen at most now.
  expect(top).toBeLessThanOrEqual(844 / 4);
});

test('scrolled to the end, the job bar sits below the last row instead of over it (phone and desktop)', async () => {
  for (const [width, height] of [
    [390, 844],
    [1440, 900],
  ]) {
    await page.setViewportSize({ width, height });
    await openTab(page, 'Data');
    await page.evaluate(() => window.scrollTo(0, document.documentElement.scrollHeight));
    const { last, bar } = await page.evaluate(() => {
      const rows = document.querySelectorAll('#panel table tr');
      return {
        last: rows[rows.length - 1].getBoundingClientRect().bottom,
        bar: document.querySelector('footer.jobs')!.getBoundingClientRect().top,
      };
    });
    expect(last, `${width}px`).toBeLessThanOrEqual(bar);
  }
});

test('at 390 px no view is wider than the screen (wide tables scroll in their own box)', async () => {
  await page.setViewportSize({ width: 390, height: 844 });
  const wide: string[] = [];
  for (const v of VIEWS) {
    await openTab(page, v);
    // The Model view's sentence form appears once its default model has loaded.
    if (v === 'Model') await page.getByTestId('status').filter({ hasText: 'Ready' }).waitFor({ timeout: 120_000 });
    const w = await page.evaluate(() => document.documentElement.scrollWidth);
    if (w > 390) wide.push(`${v}: ${w} px`);
  }
  expect(wide).toEqual([]);
});
