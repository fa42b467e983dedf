import { afterAll, beforeAll, expect, test } from 'vitest';
import type { Page } from 'playwright-core';
import { axeViolations } from './axe.ts';
import { hashFor, openTab, smallSynthetic, waitForApp, waitForRunEnd } from './appHelpers.ts';
import { startBrowserHarness, type BrowserHarness } from './harness.ts';

/**
 * axe-core on every view of the workbench, after a short synthetic run on wasm so the result views have
 * charts, in the light and the dark theme and at phone width: no serious or critical violation anywhere.
 */

const VIEWS = ['Start', 'Data', 'Model', 'Experiment', 'Train', 'Heads', 'Correlation', 'Selection', 'Embeddings', 'Results'];

const REVIEWED = ['landmark-unique', 'aria-prohibited-attr'];

let h: BrowserHarness;
let page: Page;
let errors: string[];

beforeAll(async () => {
  h = await startBrowserHarness();
  ({ page, errors } = await h.open(
    `index.html${hashFor(smallSynthetic({ rows: 16, backend: 'wasm', checkpointEvery: 4 }), { demo: { importanceEvery: 2, devRows: 16, probeRows: 16 } })}`,
  ));
  await page.setViewportSize({ width: 1440, height: 900 });
  await waitForApp(page);
  await page.getByTestId('run-synthetic').click();
  await waitForRunEnd(page);
});

afterAll(async () => {
  await h?.close();
});

test('every view has no serious or critical axe-core violation (nor landmark-unique, aria-prohibited-attr), light and dark, desktop and phone', async () => {
  const found: string[] = [];
  for (const [width, height] of [
    [1440, 900],
    [390, 844],
  ]) {
    await page.setViewportSize({ width, height });
    for (const scheme of ['light', 'dark'] as const) {
      await page.emulateMedia({ colorScheme: scheme });
      for (const v of VIEWS) {
        await openTab(page, v);
        if (v === 'Correlation') await page.getByTestId('corr-table').locator('tbody button').first().click();
        if (v === 'Heads') {
          await page.getByTestId('heads-multiples').locator('g[aria-label="cell"] rect').first().click();
          await page.getByTestId('head-inspector').getByTestId('attention-heatmap').locator('svg').first().waitFor();
        }
        // Serious and critical ones, plus the two the review found at a lower impact (landmark-unique is "moderate").
        const all = await axeViolations(page, ['minor', 'moderate', 'serious', 'critical']);
        for (const x of all.filter((a) => ['serious', 'critical'].includes(a.impact!) || REVIEWED.includes(a.id)))
          found.push(`${v} ${scheme} ${width}px: ${x.id} (${x.impact}) ${x.help} at ${x.targets.join(' | ')}`);
      }
    }
  }
  console.log(found.join('\n'));
  expect(found).toEqual([]);
  expect(errors).toEqual([]);
});
