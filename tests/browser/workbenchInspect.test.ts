import { afterAll, beforeAll, expect, test } from 'vitest';
import type { Page } from 'playwright-core';
import { syntheticSplits } from '../../src/engine/synthetic/syntheticData.ts';
import type { AttentionExample } from '../../workers/trainer/attentionExample.ts';
import { hashFor, openTab, smallSynthetic, tableMatrix, waitForApp, waitForRunEnd, workerCurrent } from './appHelpers.ts';
import { startBrowserHarness, type BrowserHarness } from './harness.ts';

/**
 * After a small synthetic run on wasm: the dev chart's majority-class lines against label shares counted here,
 * and the attention inspector opened from the Heads view's maps (by mouse and by keyboard) against the
 * trainer worker's attention for the same example. One page; the tests run in order on its one run.
 */

let h: BrowserHarness;
let page: Page;
let errors: string[];
let runId: string;
const ROWS = 64;
const DEV_ROWS = 32;
const exp = smallSynthetic({ rows: ROWS, epochs: 1, backend: 'wasm', evalEvery: 8, checkpointEvery: 8, name: 'inspect' });

beforeAll(async () => {
  h = await startBrowserHarness();
  ({ page, errors } = await h.open(`index.html${hashFor(exp, { demo: { importanceEvery: 8, devRows: DEV_ROWS, probeRows: 16 } })}`));
  await page.setViewportSize({ width: 1440, height: 900 });
  await waitForApp(page);
});

afterAll(async () => {
  await h?.close();
});

test('while it trains, the Train view and the job bar show the same step, and the ETA reads "estimating…" until a rate is measured', async () => {
  await page.getByTestId('run-synthetic').click();
  await page.getByTestId('train-step').waitFor({ timeout: 120_000 });
  // Read both places in one task of the page, so a sample never straddles an update.
  const sample = () =>
    page.evaluate(() => {
      const text = (id: string) => document.querySelector(`[data-testid="${id}"]`)?.textContent?.replace(/\s+/g, ' ').trim() ?? null;
      return { train: text('train-step'), bar: text('run-step'), trainEta: text('train-eta'), barEta: text('run-eta'), status: text('run-status') };
    });
  const samples: Awaited<ReturnType<typeof sample>>[] = [];
  for (let s = await sample(); !['done', 'failed', 'stopped'].includes(s.status ?? ''); s = await sample()) {
    samples.push(s);
    await page.waitForTimeout(150);
  }
  expect(samples.length).toBeGreaterThan(2);
  for (const s of samples) {
    expect(s.bar).toBe(`step ${s.train}`);
    if (s.barEta !== null) expect(s.barEta).toBe(s.trainEta);
    // One format everywhere ("45 s", "2 min 05 s"), and never a "0 s" guessed from nothing at step 0.
    expect(s.trainEta).toMatch(/^(estimating…|\d+ s|\d+ min \d\d s|\d+ h \d\d min)$/);
    if (s.train!.startsWith('0 /')) expect(s.trainEta).toBe('estimating…');
  }
  expect(await waitForRunEnd(page)).toBe('done');
  runId = (await workerCurrent(page))!.id;
  expect(errors).toEqual([]);
});

const workerAttention = (req: { task: string; row: number }): Promise<AttentionExample> =>
  page.evaluate(([id, r]) => (window as any).__taskscope.trainer.attention(id, r), [runId, req] as const);

test("the dev chart's majority-class line of each task is the dev share of the training split's most frequent label", async () => {
  // The same rows the worker trains on, generated from the experiment's seed; the counting is this test's own.
  const splits = syntheticSplits(
    exp.tasks.map((t) => t.name),
    { trainRows: ROWS, devRows: DEV_ROWS, seed: exp.seed!, maxLength: exp.maxLength! },
  );
  await page.getByText('Reference lines (chance, majority class)').click();
  const titles = await page.getByTestId('dev-chart').locator('g[aria-label="rule"] line title').allTextContents();
  for (const task of ['SYN-FIRST', 'SYN-CONTAINS', 'SYN-MATCH']) {
    const train = Array.from(splits[task].train.labels);
    const ones = train.filter((y) => y === 1).length;
    const majority = ones > train.length - ones ? 1 : 0;
    const dev = Array.from(splits[task].dev!.labels);
    const share = dev.filter((y) => y === majority).length / dev.length;
    expect(await page.getByTestId(`baseline-${task}`).textContent()).toBe(share.toFixed(4));
    expect(titles).toContain(`${task} majority class (label ${majority}): acc ${share.toFixed(4)}`);
  }
  // SYN-COUNT is regression: its curve is Pearson's r, and the constant-mean predictor's r is undefined, drawn at 0.
  const counts = Array.from(splits['SYN-COUNT'].train.labels);
  const mean = counts.reduce((a, b) => a + b, 0) / counts.length;
  expect(titles).toContain(`SYN-COUNT constant mean ${mean.toFixed(3)}: pearson 0.0000`);
  // Chance (dashed) and baseline (dotted) for each of the four tasks.
  expect(titles).toHaveLength(8);
  expect(errors).toEqual([]);
});

test("a click on a cell of a task's head map opens that head's attention on the task's first example, with the worker's numbers", async () => {
  await openTab(page, 'Heads');
  const cells = page.getByTestId('heads-multiples').locator('g[aria-label="cell"] rect');
  expect(await cells.count()).toBe(4 * 8);
  // Facets are drawn in task order, each map's cells layer by layer: the last cell is SYN-COUNT, layer 1, head 3.
  expect(JSON.parse((await cells.last().getAttribute('data-pick'))!)).toEqual({ task: 'SYN-COUNT', layer: 1, head: 3 });
  await cells.last().click();
  const inspector = page.getByTestId('head-inspector');
  await expect.poll(() => inspector.locator('h3').textContent()).toBe('Attention of SYN-COUNT, layer 1, head 3');
  await inspector.getByTestId('attention-heatmap').locator('svg').first().waitFor();
  expect(await inspector.getByTestId('layer').inputValue()).toBe('1');
  expect(await inspector.getByTestId('head').inputValue()).toBe('3');
  const want = await workerAttention({ task: 'SYN-COUNT', row: 0 });
  expect(want.split).toBe('dev');
  expect(await inspector.getByTestId('inspector-example').textContent()).toContain(`dev example 1 of ${DEV_ROWS} (${want.uid})`);
  await inspector.getByText('Numbers (query rows × key columns)').click();
  const shown = await tableMatrix(page, 'attention-numbers');
  expect(shown).toEqual(want.attentions[1][3].map((r) => r.map((x) => Number(x.toFixed(4)))));
  // Each query row is a softmax over the keys.
  for (const r of want.attentions[1][3]) expect(r.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
  // The next example is the worker's row 1.
  await inspector.getByRole('button', { name: 'Next example' }).click();
  const next = await workerAttention({ task: 'SYN-COUNT', row: 1 });
  await expect.poll(() => inspector.getByTestId('inspector-example').textContent()).toContain(`dev example 2 of ${DEV_ROWS} (${next.uid})`);
  expect(await tableMatrix(page, 'attention-numbers')).toEqual(next.attentions[1][3].map((r) => r.map((x) => Number(x.toFixed(4)))));
  expect(errors).toEqual([]);
});

test('the keyboard way: Enter on a number of the layer × head tables opens that head', async () => {
  await page.getByText('Numbers of every task (layer × head)').click();
  const button = page.getByTestId('heads-numbers-SYN-MATCH').locator('td[data-layer="0"][data-head="2"] button');
  await button.focus();
  await page.keyboard.press('Enter');
  const inspector = page.getByTestId('head-inspector');
  await expect.poll(() => inspector.locator('h3').textContent()).toBe('Attention of SYN-MATCH, layer 0, head 2');
  const want = await workerAttention({ task: 'SYN-MATCH', row: 0 });
  await expect.poll(() => inspector.getByTestId('inspector-example').textContent()).toContain(`(${want.uid})`);
  await inspector.getByTestId('attention-heatmap').locator('svg').first().waitFor();
  const details = inspector.locator('details.numbers');
  if (!(await details.evaluate((d) => (d as HTMLDetailsElement).open))) await details.locator('summary').click();
  expect(await tableMatrix(page, 'attention-numbers')).toEqual(want.attentions[0][2].map((r) => r.map((x) => Number(x.toFixed(4)))));
  expect(errors).toEqual([]);
});
