import { afterAll, beforeAll, expect, test } from 'vitest';
import type { Page } from 'playwright-core';
import type { RunSummary } from '../../workers/trainer/types.ts';
import { hashFor, openTab, smallSynthetic, tableMatrix, waitForApp, waitForRunEnd, workerCurrent, workerImportance } from './appHelpers.ts';
import { startBrowserHarness, type BrowserHarness } from './harness.ts';

/**
 * The live overview, the Heads small multiples and the Correlation statistics as a user sees them during and
 * after the synthetic demo on wasm, checked against the worker's numbers; then a shared-results link saved into
 * Results and compared with the local run. One page: the tests run in order on the run the first one trains.
 */

let h: BrowserHarness;
let page: Page;
let errors: string[];
const SYN = ['SYN-FIRST', 'SYN-CONTAINS', 'SYN-MATCH', 'SYN-COUNT'];
const round = (x: number, d: number) => Number(x.toFixed(d));

beforeAll(async () => {
  h = await startBrowserHarness();
});

afterAll(async () => {
  await h?.close();
});

/** Points of the first loss line (Plot draws a line as one path: M then one L per further point). */
const linePoints = (p: Page) =>
  p
    .getByTestId('loss-chart')
    .locator('g[aria-label="line"] path')
    .first()
    .evaluate((el) => (el.getAttribute('d')?.match(/L/g)?.length ?? 0) + 1);
const headFills = (p: Page) =>
  p
    .getByTestId('overview-heads')
    .locator('g[aria-label="cell"] rect')
    .evaluateAll((rs) => rs.map((r) => r.getAttribute('fill')));

test('the overview updates while the synthetic demo trains: the loss curve gains points and the head maps change', async () => {
  // 128 rows per task in batches of 16: 32 steps an epoch, 2 epochs; dev every 8 steps, importance every 4.
  const hash = hashFor(smallSynthetic({ rows: 128, epochs: 2, backend: 'wasm', evalEvery: 8, checkpointEvery: 16, name: 'overview' }), {
    demo: { importanceEvery: 4, devRows: 32, probeRows: 16 },
  });
  ({ page, errors } = await h.open(`index.html${hash}`));
  await page.setViewportSize({ width: 1440, height: 900 });
  await waitForApp(page);
  await page.getByTestId('run-synthetic').click();
  await page.getByTestId('overview-heads').locator('g[aria-label="cell"] rect').first().waitFor({ timeout: 120_000 });
  const early = { points: await linePoints(page), fills: await headFills(page), step: (await workerCurrent(page))!.step };
  expect(early.step).toBeLessThan(64);
  expect(await waitForRunEnd(page)).toBe('done');
  // Each step trains one task's batch: 8 batches per task and epoch, so SYN-FIRST's curve ends with 16 points.
  await expect.poll(() => linePoints(page)).toBe(16);
  expect(early.points).toBeLessThan(16);
  const late = await headFills(page);
  expect(late).toHaveLength(4 * 8);
  expect(late).not.toEqual(early.fills);
  // Dev curves (one per task, from 8 evaluations), learning rate and throughput, correlation — all on the one screen.
  const run = (await workerCurrent(page))!;
  expect(run.evalHistory!.filter((p) => p.task === 'SYN-FIRST' && p.metric === 'acc').map((p) => p.step)).toEqual([8, 16, 24, 32, 40, 48, 56, 64]);
  await expect.poll(() => page.getByTestId('dev-chart').locator('g[aria-label="line"] path').count()).toBe(4);
  // Chance (accuracy 1/2 for the three binary tasks, 0 for SYN-COUNT's correlation) and each task's majority-class
  // or constant-mean line: two per task (their values: tests/browser/workbenchInspect.test.ts).
  expect(await page.getByTestId('dev-chart').locator('g[aria-label="rule"] line').count()).toBe(8);
  expect(await page.getByTestId('lr-chart').count()).toBe(1);
  expect(await page.getByTestId('throughput-chart').count()).toBe(1);
  expect(await page.getByTestId('overview-corr').locator('g[aria-label="cell"] rect').count()).toBe(6);
  // The log axis carries labels.
  expect((await page.getByTestId('loss-chart').locator('g[aria-label="y-axis tick label"] text').allTextContents()).length).toBeGreaterThanOrEqual(2);
  // Smoothing is a control (0.6 by default, the raw loss faint behind); at 0 the curve is the raw loss alone.
  expect(await page.getByTestId('loss-chart').locator('g[aria-label="link"] path').count()).toBeGreaterThan(0);
  await page.getByTestId('loss-smoothing').fill('0');
  await expect.poll(() => page.getByTestId('loss-chart').locator('g[aria-label="link"]').count()).toBe(0);
  expect(errors).toEqual([]);
});

test("Heads: the small multiples' numbers are the worker's, in the measure's own scale and raw", async () => {
  const imp = (await workerImportance(page))!;
  await openTab(page, 'Heads');
  await page.getByText('Numbers of every task (layer × head)').click();
  for (const task of SYN) expect(await tableMatrix(page, `heads-numbers-${task}`)).toEqual(imp.tasks[task].map((r) => r.map((x) => round(x, 4))));
  expect(await page.getByTestId('heads-multiples').locator('g[aria-label="cell"] rect').count()).toBe(4 * 8);
  await page.getByTestId('heads-scale-raw').check();
  for (const task of SYN) expect(await tableMatrix(page, `heads-numbers-${task}`)).toEqual(imp.raw![task].map((r) => r.map((x) => round(x, 6))));
  // The difference of two tasks is drawn on a fixed symmetric scale: ± the largest raw value of all tasks.
  await page.getByTestId('heads-scale-measure').check();
  await page.getByTestId('heads-diff').selectOption('SYN-COUNT');
  const legend = await page.getByTestId('heads-diff-heatmap').locator('figure svg').first().locator('text').allTextContents();
  expect(legend.join(' ')).toContain('−1.0');
  expect(legend.join(' ')).toContain('1.0');
  expect(errors).toEqual([]);
});

test("Correlation: n, permutation p and bootstrap interval per pair are the worker's (engine) numbers, upper triangle only", async () => {
  const run: RunSummary = (await workerCurrent(page))!;
  const u = run.correlation!.uncertainty!.kendall_tau_b;
  expect(u.n).toBe(8);
  expect(u.pairs).toHaveLength(6);
  await openTab(page, 'Correlation');
  expect(await page.getByTestId('corr-row').count()).toBe(6);
  expect(await page.getByTestId('corr-n').allTextContents()).toEqual(u.pairs.map(() => '8'));
  expect(await page.getByTestId('corr-p').allTextContents()).toEqual(u.pairs.map((p) => (p.p < 0.001 ? '<0.001' : p.p.toFixed(3))));
  const ci = await page.getByTestId('corr-ci').allTextContents();
  expect(ci.map((t) => t.replace(' (spans 0)', ''))).toEqual(u.pairs.map((p) => `${p.interval![0].toFixed(3)} … ${p.interval![1].toFixed(3)}`));
  expect(ci.map((t) => t.endsWith('(spans 0)'))).toEqual(u.pairs.map((p) => p.spansZero));
  // Exact p over 8! orders; 8 heads is below the sensible n, and the page says so.
  expect(u.pairs.every((p) => p.pExact)).toBe(true);
  expect(await page.getByTestId('corr-warning').textContent()).toContain('only 8 heads per task');
  expect(await page.getByTestId('corr-chart').locator('g[aria-label="cell"] rect').count()).toBe(6);
  expect(errors).toEqual([]);
});

test('a shared-results link is saved into Results and compared with the local run', async () => {
  const local = (await workerCurrent(page))!;
  await page.getByTestId('share-results').click();
  const link = await page.getByTestId('share-link').inputValue();
  // The recipient's page here is this one: it holds its own local run and now opens the link.
  await page.evaluate(
    (x) => {
      location.hash = x;
    },
    link.slice(link.indexOf('#')),
  );
  await page.getByTestId('result-source').filter({ hasText: 'Shared results' }).waitFor();
  await openTab(page, 'Results');
  await page.getByTestId('save-shared').click();
  await expect.poll(() => page.getByTestId('shared-row').count()).toBe(1);
  await page.getByTestId('shared-row').getByRole('checkbox').check();
  await page.getByTestId('run-row').filter({ hasText: 'overview' }).getByRole('checkbox').check();
  await page.getByTestId('compare-runs').click();
  const table = page.getByTestId('compare-table');
  await table.waitFor();
  const cellsOf = async (label: string) =>
    table
      .locator('tr', { has: page.locator('th', { hasText: new RegExp(`^${label}$`) }) })
      .locator('td')
      .allTextContents();
  // Metrics side by side: the shared copy carries them to 4 decimals, so both read the same in percent.
  const acc = local.evaluation!.tasks.find((t) => t.task === 'SYN-FIRST')!.metrics.acc!;
  expect(await cellsOf('SYN-FIRST acc')).toEqual([(round(acc, 4) * 100).toFixed(2), (acc * 100).toFixed(2)]);
  // The shared score is recomputed from metrics rounded to 4 decimals: it moves the mean by at most 0.005 points,
  // and the two-decimal display can then round either way, so the two cells agree within 0.01.
  const scores = await cellsOf('mean dev score');
  expect(Math.abs(Number(scores[0]) - Number(scores[1]))).toBeLessThanOrEqual(0.0100001);
  // Curves overlaid (4 tasks × 2) and head maps side by side.
  await expect.poll(() => page.getByTestId('compare-chart').locator('g[aria-label="line"] path').count()).toBe(8);
  expect(await page.getByTestId('compare-heads').locator('figure').count()).toBeGreaterThanOrEqual(2);
  // Saved shared results survive a reload (validated again when read).
  await page.reload();
  await waitForApp(page);
  await openTab(page, 'Results');
  expect(await page.getByTestId('shared-row').count()).toBe(1);
  expect(errors).toEqual([]);
});
