import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { repoRoot } from '../../helpers/shared.ts';
import { hashFor, openTab, smallSynthetic, waitForApp, waitForRunEnd } from '../appHelpers.ts';
import { startBrowserHarness } from '../harness.ts';

/**
 * `npm run screenshots`: every view of the workbench after a short synthetic run on wasm, at 1440×900 and
 * 390×844, light and dark, as artifacts/screenshots/<view>-<width>-<scheme>.png (gitignored). The view's
 * whole page is captured so what scrolls is visible too.
 */

const VIEWS = ['Start', 'Data', 'Model', 'Experiment', 'Train', 'Heads', 'Correlation', 'Selection', 'Embeddings', 'Results'];
const SIZES = [
  [1440, 900],
  [390, 844],
] as const;
const out = resolve(repoRoot, 'artifacts/screenshots');

async function main(): Promise<void> {
  mkdirSync(out, { recursive: true });
  const h = await startBrowserHarness();
  try {
    const hash = hashFor(smallSynthetic({ rows: 64, epochs: 2, backend: 'wasm', evalEvery: 8, checkpointEvery: 16 }), {
      demo: { importanceEvery: 8, devRows: 32, probeRows: 16 },
    });
    const { page, errors } = await h.open(`index.html${hash}`);
    await page.setViewportSize({ width: 1440, height: 900 });
    await waitForApp(page);
    await page.getByTestId('run-synthetic').click();
    await waitForRunEnd(page);
    let n = 0;
    for (const [width, height] of SIZES) {
      await page.setViewportSize({ width, height });
      for (const scheme of ['light', 'dark'] as const) {
        await page.emulateMedia({ colorScheme: scheme });
        for (const v of VIEWS) {
          await openTab(page, v);
          if (v === 'Model')
            await page
              .getByTestId('status')
              .filter({ hasText: /Ready|No model/ })
              .waitFor({ timeout: 180_000 })
              .catch(() => {});
          if (v === 'Heads') {
            await page.getByTestId('heads-diff').selectOption('SYN-COUNT');
            // The attention inspector, opened from a cell of the small multiples.
            await page.getByTestId('heads-multiples').locator('g[aria-label="cell"] rect').nth(5).click();
            await page.getByTestId('head-inspector').getByTestId('attention-heatmap').locator('svg').first().waitFor();
          }
          if (v === 'Correlation') await page.getByTestId('corr-table').locator('tbody button').first().click();
          await page.waitForTimeout(200);
          await page.screenshot({ path: resolve(out, `${v.toLowerCase()}-${width}-${scheme}.png`), fullPage: true });
          n++;
        }
      }
    }
    console.log(`${n} screenshots in ${out}${errors.length ? `; page errors: ${errors.join(' | ')}` : ''}`);
  } finally {
    await h.close();
  }
}

await main();
