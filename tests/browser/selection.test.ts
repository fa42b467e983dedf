import { mkdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Page } from 'playwright-core';
import type { GradtsTrialReasons } from '../../src/engine/selection/gradtsTrial.ts';
import type { RandomReasons } from '../../src/engine/selection/randomSelect.ts';
import type { SelectionResult } from '../../src/engine/selection/selectionResult.ts';
import { hashFor, smallSynthetic, waitForApp } from './appHelpers.ts';
import { startBrowserHarness, type BrowserHarness } from './harness.ts';
import { repoRoot } from '../helpers/shared.ts';

/**
 * The Selection view runs auxiliary-task selection methods in the trainer worker on the synthetic demo (wasm,
 * tiny budgets): the form, the progress lines, the result on the page, and the JSON/CSV downloads.
 */

const SYN_TASKS = ['SYN-FIRST', 'SYN-CONTAINS', 'SYN-MATCH', 'SYN-COUNT'];
const screenshotDir = resolve(repoRoot, 'artifacts/screenshots');

let h: BrowserHarness;
let page: Page;
let errors: string[];

beforeAll(async () => {
  mkdirSync(screenshotDir, { recursive: true });
  h = await startBrowserHarness();
  ({ page, errors } = await h.open(`index.html${hashFor(smallSynthetic({ backend: 'wasm' }), { view: 'selection' })}`));
  await page.setViewportSize({ width: 1280, height: 900 });
  await waitForApp(page);
});

afterAll(async () => {
  await h?.close();
});

async function setNumber(testid: string, value: number): Promise<void> {
  await page.getByTestId(testid).fill(String(value));
}

/** Clicks Run and waits for the selection to end; returns the page's result and how long it took. */
async function runAndWait(): Promise<{ result: SelectionResult; seconds: number }> {
  const t0 = Date.now();
  const n = Number(await page.getByTestId('selection-status').getAttribute('data-run'));
  await page.getByTestId('selection-run').click();
  await page
    .locator(`[data-testid="selection-status"][data-run="${n + 1}"]`)
    .filter({ hasText: /^(done|failed|stopped)$/ })
    .waitFor({ timeout: 90_000 });
  const err = await page.getByTestId('selection-error').allTextContents();
  expect(err).toEqual([]);
  expect(await page.getByTestId('selection-status').textContent()).toBe('done');
  const result = (await page.evaluate(() => (window as any).__taskscope.workbench.selection.result)) as SelectionResult;
  return { result, seconds: (Date.now() - t0) / 1000 };
}

async function downloaded(testid: string): Promise<string> {
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId(testid).click()]);
  return readFileSync(await download.path(), 'utf8');
}

const finiteUnit = (m: Record<string, number | undefined>) => Object.values(m).every((x) => typeof x === 'number' && Number.isFinite(x) && x >= 0 && x <= 1);

/** The metrics table on the page, as numbers. */
async function shownMetrics(): Promise<Record<string, number>> {
  const rows = await page
    .getByTestId('selection-metrics')
    .locator('tbody tr')
    .evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '')));
  return Object.fromEntries(rows.map(([k, v]) => [k, Number(v)]));
}

describe('Selection view', () => {
  test('random: the form runs the baseline in the worker; page, JSON and CSV agree', async () => {
    await page.getByTestId('selection-method').selectOption('random');
    await page.getByTestId('selection-run-target').selectOption('SYN-MATCH');
    await setNumber('selection-num', 24);
    await setNumber('selection-td-per-task', 8);
    await setNumber('selection-max-rows', 32);
    await setNumber('selection-epochs-train', 1);
    const { result: r, seconds } = await runAndWait();
    console.log(
      `random selection from the page: ${seconds.toFixed(1)} s (selection ${r.wallSeconds.toFixed(2)} s, training ${r.training?.wallSeconds.toFixed(2)} s)`,
    );

    expect(r.format).toBe('taskscope-selection/1');
    expect(r.method).toBe('random');
    expect(r.target).toBe('SYN-MATCH');
    const candidates = SYN_TASKS.filter((t) => t !== 'SYN-MATCH');
    expect(r.chosen.length).toBeGreaterThan(0);
    expect(r.chosen.every((t) => candidates.includes(t))).toBe(true);
    // 32 rows per task minus the 8-row TD sample: 3 pools of 24, and exactly NUM = 24 examples drawn from them.
    const reasons = r.reasons as RandomReasons;
    expect(reasons.poolSize).toBe(72);
    expect(Object.keys(r.examples!).sort()).toEqual([...r.chosen].sort());
    expect(Object.values(r.examples!).reduce((a, u) => a + u.length, 0)).toBe(24);
    // Trained on the target's 32 rows plus the drawn ones; SYN-MATCH reports accuracy and F1.
    expect(r.training!.rows['SYN-MATCH']).toBe(32);
    expect(r.training!.tasks).toEqual(['SYN-MATCH', ...r.chosen]);
    expect(Object.keys(r.training!.last).sort()).toEqual(['acc', 'f1']);
    expect(finiteUnit(r.training!.last)).toBe(true);
    expect(r.wallSeconds).toBeGreaterThanOrEqual(0);
    expect(r.training!.wallSeconds).toBeGreaterThan(0);

    // The page shows the same choice and metrics (4 decimals), and the progress log has the evaluation.
    expect(await page.getByTestId('selection-chosen').textContent()).toBe(
      `Chosen: ${r.chosen.map((t) => `${t} (${r.examples![t].length} examples)`).join(', ')}`,
    );
    const shown = await shownMetrics();
    for (const [k, v] of Object.entries(r.training!.last)) expect(shown[k]).toBeCloseTo(v!, 4);
    const log = (await page.getByTestId('selection-progress').textContent())!;
    expect(log).toContain('random for SYN-MATCH on wasm: loading synthetic data');
    expect(log).toContain('random training: epoch');

    // Downloads: the JSON is the result; the CSV has one row per drawn example.
    expect(JSON.parse(await downloaded('selection-json'))).toEqual(r);
    const csv = (await downloaded('selection-csv')).trim().split('\n');
    expect(csv[0]).toBe('method,target,level,task,uid,chosen,score,score_kind');
    expect(csv.length).toBe(1 + 24);
    expect(csv.slice(1).every((l) => l.startsWith('random,SYN-MATCH,example,'))).toBe(true);
  });

  test("gradts-trial: correlations, trials and the selected trial's dev metrics; the JSON download is the result", async () => {
    await page.getByTestId('selection-method').selectOption('gradts-trial');
    await page.getByTestId('selection-run-target').selectOption('SYN-FIRST');
    await setNumber('selection-max-rows', 32);
    await setNumber('selection-measure-rows', 8);
    await setNumber('selection-max-trials', 2);
    await setNumber('selection-epochs-tune', 1);
    await setNumber('selection-epochs-trial', 1);
    const { result: r, seconds } = await runAndWait();
    console.log(`gradts-trial selection from the page: ${seconds.toFixed(1)} s (selection ${r.wallSeconds.toFixed(2)} s)`);

    expect(r.method).toBe('gradts-trial');
    expect(r.target).toBe('SYN-FIRST');
    const candidates = SYN_TASKS.filter((t) => t !== 'SYN-FIRST');
    expect(r.chosen.every((t) => candidates.includes(t))).toBe(true);
    const reasons = r.reasons as GradtsTrialReasons & { importance: { source: string; matrices: Record<string, number[][]> } };
    // Head matrices computed for the target and every candidate (2 layers × 4 heads), correlations in [−1, 1].
    expect(reasons.importance.source).toBe('computed');
    expect(Object.keys(reasons.importance.matrices).sort()).toEqual([...SYN_TASKS].sort());
    expect(reasons.correlations.map((c) => c.task).sort()).toEqual([...candidates].sort());
    expect(reasons.correlations.every((c) => c.correlation >= -1 && c.correlation <= 1)).toBe(true);
    // Trial k adds the k best-correlated candidates; at most 2 trials; the pick is one of them.
    expect(reasons.trials.length).toBeGreaterThanOrEqual(1);
    expect(reasons.trials.length).toBeLessThanOrEqual(2);
    reasons.trials.forEach((t) => expect(t.tasks).toEqual(['SYN-FIRST', ...reasons.correlations.slice(0, t.k).map((c) => c.task)]));
    const pick = reasons.trials.find((t) => t.k === reasons.selectedTrial)!;
    expect(r.chosen).toEqual(pick.tasks.slice(1));
    expect(Object.keys(pick.best)).toEqual(['acc']);
    expect(finiteUnit(pick.best)).toBe(true);
    expect(pick.wallSeconds).toBeGreaterThan(0);
    expect(r.wallSeconds).toBeGreaterThan(0);

    // The page: ranking table in correlation order, the selected trial's metrics, the same JSON.
    const ranked = await page.getByTestId('selection-correlations').locator('tbody tr td:nth-child(2)').allTextContents();
    expect(ranked).toEqual(reasons.correlations.map((c) => c.task));
    expect((await shownMetrics()).acc).toBeCloseTo(pick.best.acc!, 4);
    expect(await page.getByTestId('selection-trials').locator('tbody tr').count()).toBe(reasons.trials.length);
    expect(JSON.parse(await downloaded('selection-json'))).toEqual(r);
    const csv = (await downloaded('selection-csv')).trim().split('\n');
    expect(csv.length).toBe(1 + 3);
    expect(csv.slice(1).map((l) => l.split(',')[3])).toEqual(reasons.correlations.map((c) => c.task));
    await page.screenshot({ path: resolve(screenshotDir, 'selection-gradts-trial.png'), fullPage: true });
  });

  test('Stop ends a long selection after the current step; the worker then takes the next one', async () => {
    await page.getByTestId('selection-method').selectOption('random');
    await setNumber('selection-epochs-train', 500);
    await page.getByTestId('selection-run').click();
    await page
      .getByTestId('selection-current')
      .filter({ hasText: /^random training: step \d+ \/ \d+$/ })
      .waitFor({ timeout: 30_000 });
    const t0 = Date.now();
    await page.getByTestId('selection-stop').click();
    await page.getByTestId('selection-status').filter({ hasText: 'stopped' }).waitFor({ timeout: 10_000 });
    console.log(`stop → stopped: ${Date.now() - t0} ms`);
    expect(await page.getByTestId('selection-error').count()).toBe(0);
    // The previous result stays cleared, and a new run is accepted (the worker is idle again).
    expect(await page.getByTestId('selection-result').count()).toBe(0);
    await setNumber('selection-epochs-train', 1);
    const { result } = await runAndWait();
    expect(result.method).toBe('random');
    expect(errors).toEqual([]);
  });
});
