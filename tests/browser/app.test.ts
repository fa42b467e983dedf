import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { Page } from 'playwright-core';
import { fixtureModelDir, loadFixture, repoRoot } from '../helpers/shared.ts';
import { startBrowserHarness, type BrowserHarness } from './harness.ts';

// The app's default model is the mirror's bert-tiny-arch-random, so its fixture gives the expected values.
const fx = loadFixture('bert-tiny-arch-random');
const plain = fx.examples.find((e: any) => e.id === 'plain');
const screenshotDir = resolve(repoRoot, 'artifacts/screenshots');

let h: BrowserHarness;
let page: Page;
let errors: string[];

beforeAll(async () => {
  h = await startBrowserHarness();
  ({ page, errors } = await h.open('index.html'));
  await page.setViewportSize({ width: 1280, height: 1400 });
  // The inspector is the workbench's Model view; it loads the default model when first shown.
  await page.getByRole('tab', { name: 'Model', exact: true }).click();
});

afterAll(async () => {
  await h?.close();
});

/** Hovers the heatmap cell (query q, key k) and returns the tooltip's text. */
async function tooltipAt(p: Page, n: number, q: number, k: number): Promise<string> {
  const cell = p.locator('[data-testid=attention-heatmap] g[aria-label=cell] rect').nth(q * n + k);
  await cell.hover();
  const tip = p.locator('[data-testid=attention-heatmap] g[aria-label=tip]');
  await expect.poll(async () => (await tip.textContent()) ?? '', { timeout: 10_000 }).toContain('attention probability');
  return (await tip.textContent()) ?? '';
}

test('loads the default model, encodes a pair, shows tokens and an attention heatmap; auto refuses SwiftShader for wasm', async () => {
  await page.getByTestId('status').filter({ hasText: 'Ready' }).waitFor({ timeout: 180_000 });
  expect(await page.getByTestId('model-summary').innerText()).toContain('2 layers, 2 heads, hidden 128, vocabulary 30522, uncased');
  // Chromium here offers only SwiftShader, a software WebGPU adapter: auto must take wasm and say why.
  expect(await page.getByTestId('model-backend').textContent()).toBe('wasm');
  expect(await page.getByTestId('model-reason').textContent()).toBe(
    'auto picked wasm: the WebGPU adapter (google / swiftshader) is the software renderer swiftshader (isFallbackAdapter), which runs on the CPU and is slower than wasm',
  );

  await page.getByTestId('text-a').fill(plain.text_a);
  await page.getByTestId('text-b').fill(plain.text_b);
  await page.getByTestId('encode').click();
  await page.getByTestId('token-table').waitFor({ timeout: 120_000 });
  await page.getByTestId('status').filter({ hasText: 'Ready' }).waitFor({ timeout: 120_000 });
  expect(await page.getByTestId('error').count()).toBe(0);

  // Token row and id row of the table, read cell by cell, against the reference tokenizer.
  const rowCells = (r: number) => page.locator('[data-testid=token-table] tr').nth(r).locator('td').allTextContents();
  const n: number = plain.n_tokens;
  expect(await rowCells(1)).toEqual(plain.tokens);
  expect((await rowCells(2)).map(Number)).toEqual(plain.input_ids.slice(0, n));
  expect((await rowCells(3)).map(Number)).toEqual(plain.token_type_ids.slice(0, n));

  // An n×n heatmap with a colour legend, and tooltips carrying the probabilities of the reference.
  await expect.poll(() => page.locator('[data-testid=attention-heatmap] g[aria-label=cell] rect').count()).toBe(n * n);
  expect(await page.locator('[data-testid=attention-heatmap] figure svg').count()).toBeGreaterThanOrEqual(2); // legend + chart
  const tip00 = await tooltipAt(page, n, 0, 0);
  expect(tip00).toContain(plain.attentions[0][0][0][0].toFixed(4));

  await page.getByTestId('layer').selectOption('1');
  await page.getByTestId('head').selectOption('1');
  const tip = await tooltipAt(page, n, 2, 5);
  expect(tip).toContain(plain.attentions[1][1][2][5].toFixed(4));
  expect(tip).toContain(`${plain.tokens[2]} (#2)`);
  expect(tip).toContain(`${plain.tokens[5]} (#5)`);

  expect(await page.getByTestId('model-backend').textContent()).toBe('wasm');
  mkdirSync(screenshotDir, { recursive: true });
  await page.screenshot({ path: resolve(screenshotDir, 'app.png'), fullPage: true });
  expect(errors).toEqual([]);
});

test('a bad model URL shows a clear error and keeps the page usable', async () => {
  await page.getByTestId('model-url').fill('./mirror/fixtures/no-such-model');
  await page.getByRole('button', { name: 'Load' }).click();
  const alert = page.getByTestId('error');
  await alert.waitFor({ timeout: 60_000 });
  expect(await alert.textContent()).toMatch(/mirror\/fixtures\/no-such-model\/(config\.json|vocab\.txt): HTTP 404/);
  expect(await page.getByTestId('status').textContent()).toContain('No model loaded');
});

test('a picked local folder loads through the worker and encodes with its own vocabulary', async () => {
  const tiny = loadFixture('random-tiny');
  const e = tiny.examples.find((x: any) => x.id === 'plain');
  await page
    .getByTestId('status')
    .filter({ hasText: /Ready|No model loaded/ })
    .waitFor({ timeout: 180_000 });
  await page.locator('#model-files').setInputFiles(fixtureModelDir('random-tiny'));
  await page.getByTestId('model-summary').filter({ hasText: 'random-tiny' }).waitFor({ timeout: 60_000 });
  expect(await page.getByTestId('model-summary').innerText()).toMatch(/^Loaded random-tiny: 2 layers, 4 heads, hidden 32, vocabulary 200, uncased$/);
  await page.getByTestId('text-a').fill(e.text_a);
  await page.getByTestId('text-b').fill(e.text_b);
  await page.getByTestId('encode').click();
  await page.getByTestId('token-table').or(page.getByTestId('error')).waitFor({ timeout: 120_000 });
  expect(await page.getByTestId('error').allTextContents()).toEqual([]);
  const ids = await page.locator('[data-testid=token-table] tr').nth(2).locator('td').allTextContents();
  expect(ids.map(Number)).toEqual(e.input_ids.slice(0, e.n_tokens));
  await expect.poll(() => page.locator('[data-testid=attention-heatmap] g[aria-label=cell] rect').count()).toBe(e.n_tokens ** 2);
});
