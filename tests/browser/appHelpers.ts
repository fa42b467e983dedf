import { expect } from 'vitest';
import type { Page } from 'playwright-core';
import { defaultAppState, encodeAppState, type AppState } from '../../src/urlState/appState.ts';
import { parseAppExperiment } from '../../src/urlState/appExperiment.ts';
import { syntheticDemoExperiment } from '../../src/urlState/defaults.ts';
import type { ExperimentInput } from '../../src/engine/experiment/experimentSchema.ts';
import type { ImportanceState, RunSummary } from '../../workers/trainer/types.ts';

/** Helpers for driving the workbench page as a user, plus reads of the trainer worker through the page's debug hook. */

/** A port nothing listens on: fetches fail at once, as they do offline. */
export const UNREACHABLE_MIRROR = 'http://127.0.0.1:9';

/**
 * A synthetic experiment small enough for a browser test: `rows` training rows per task in batches of 16, so
 * one epoch is 4·rows/16 steps.
 */
export function smallSynthetic(over: Partial<ExperimentInput> & { rows?: number } = {}): ExperimentInput {
  const { rows = 64, ...rest } = over;
  const base = syntheticDemoExperiment();
  return {
    ...base,
    name: 'small synthetic',
    tasks: base.tasks.map((t) => ({ ...t, maxTrainRows: rows })),
    epochs: 1,
    evalEvery: 0,
    checkpointEvery: 4,
    ...rest,
  };
}

export function hashFor(exp: ExperimentInput, patch: Partial<Omit<AppState, 'experiment' | 'demo'>> & { demo?: Partial<AppState['demo']> } = {}): string {
  const d = defaultAppState();
  const s: AppState = { ...d, ...patch, experiment: parseAppExperiment(exp), demo: { ...d.demo, ...(patch.demo ?? {}) } } as AppState;
  return `#${encodeAppState(s)}`;
}

export async function workerCurrent(page: Page): Promise<RunSummary | null> {
  return page.evaluate(() => (window as any).__taskscope.trainer.current());
}

export async function workerImportance(page: Page): Promise<ImportanceState | null> {
  return page.evaluate(() => (window as any).__taskscope.trainer.importance());
}

export async function waitForApp(page: Page): Promise<void> {
  await page.waitForFunction(() => (window as any).__taskscope !== undefined, undefined, { timeout: 120_000 });
  await page.getByTestId('device-backend').waitFor({ timeout: 120_000 });
}

/** Waits until the job bar says the run ended; fails with the page's messages if it failed. */
export async function waitForRunEnd(page: Page, timeout = 240_000): Promise<string> {
  const status = page.getByTestId('run-status').filter({ hasText: /^(done|failed|stopped)$/ });
  await status.or(page.getByTestId('app-error')).first().waitFor({ timeout });
  const err = await page.getByTestId('app-error').allTextContents();
  expect(err).toEqual([]);
  const s = (await status.textContent())!;
  if (s === 'failed') throw new Error(`run failed: ${(await workerCurrent(page))?.message}`);
  return s;
}

export async function openTab(page: Page, name: string): Promise<void> {
  await page.getByRole('tab', { name, exact: true }).click();
  await page.getByRole('tab', { name, exact: true, selected: true }).waitFor();
}

/** The numbers table of a heatmap as [layer][head]. */
export async function tableMatrix(page: Page, testid: string): Promise<number[][]> {
  return page
    .getByTestId(testid)
    .evaluate((table) => [...table.querySelectorAll('tbody tr')].map((tr) => [...tr.querySelectorAll('td')].map((td) => Number(td.textContent))));
}

/** Records the longest gap between animation frames while `during` runs. */
export async function longestFrameGap<T>(page: Page, during: () => Promise<T>): Promise<{ result: T; maxGapMs: number; frames: number }> {
  // A string, so no bundler helper (esbuild's __name) is injected into the page.
  await page.evaluate(`(() => {
    const f = { max: 0, n: 0, last: performance.now(), on: true };
    window.__frames = f;
    const tick = (t) => {
      if (!f.on) return;
      f.max = Math.max(f.max, t - f.last);
      f.last = t;
      f.n++;
      requestAnimationFrame(tick);
    };
    requestAnimationFrame((t) => { f.last = t; requestAnimationFrame(tick); });
  })()`);
  const result = await during();
  const f = await page.evaluate(() => {
    const w = window as any;
    w.__frames.on = false;
    return { max: w.__frames.max as number, n: w.__frames.n as number };
  });
  return { result, maxGapMs: f.max, frames: f.n };
}
