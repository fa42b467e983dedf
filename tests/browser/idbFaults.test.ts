import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { FaultHarnessApi } from '../harness/faults.ts';
import { startBrowserHarness, type BrowserHarness } from './harness.ts';

let h: BrowserHarness;
let ctx: BrowserContext;
let reference: string;

/** A tab of the shared browser context (tabs of one context share IndexedDB and Web Locks, as a user's tabs do). */
async function tab(): Promise<{
  page: Page;
  call: <K extends keyof FaultHarnessApi>(name: K, ...args: Parameters<FaultHarnessApi[K]>) => Promise<Awaited<ReturnType<FaultHarnessApi[K]>>>;
}> {
  const page = await ctx.newPage();
  await page.goto(`${h.baseUrl}/tests/harness/faults.html`);
  await page.waitForFunction(() => window.__taskscopeFaults !== undefined, undefined, { timeout: 120_000 });
  const call = (name: string, ...args: unknown[]) =>
    page.evaluate(([n, a]) => (window.__taskscopeFaults as unknown as Record<string, (...x: unknown[]) => unknown>)[n as string](...(a as unknown[])), [
      name,
      args,
    ] as const);
  expect(await call('ready')).toBe('cpu');
  return { page, call: call as never };
}

beforeAll(async () => {
  h = await startBrowserHarness();
  ctx = await h.browser.newContext();
  const t = await tab();
  reference = await t.call('reference');
  await t.page.close();
});

afterAll(async () => {
  await ctx?.close().catch(() => {});
  await h?.close();
});

test('a tab closed in the middle of a run: another tab resumes from the last complete state to the same bytes', async () => {
  const [a, b] = [await tab(), await tab()];
  await a.call('startRun', 'killed', 1500);
  // Wait for the first complete save (step 3), then close the tab while the next save is held back.
  for (let i = 0; i < 600 && (await b.call('savedStep', 'killed')) === null; i++) await new Promise((r) => setTimeout(r, 50));
  await a.page.close();
  const saved = await b.call('savedStep', 'killed');
  expect([3, 6]).toContain(saved);
  const r = await b.call('resumeToEnd', 'killed');
  expect(r.resumedAt).toBe(saved);
  expect(r.digest).toBe(reference);
  await b.page.close();
});

test('one writer per run across tabs (Web Locks): a second tab is refused until the first closes the run or the tab', async () => {
  const a = await tab();
  const b = await tab();
  expect(await a.call('openWriter', 'shared')).toBe('ok');
  expect(await b.call('openWriter', 'shared')).toBe(
    'RunInUseError: IndexedDB "taskscope-fault-runs" run "shared" is open for writing in another tab or window; close it there (or wait for its run to end) before continuing here',
  );
  await a.call('closeWriter', 'shared');
  expect(await b.call('openWriter', 'shared')).toBe('ok'); // open() waits out the release in flight
  // A tab that goes away releases its lock too.
  await b.page.close();
  expect(await a.call('openWriter', 'shared')).toBe('ok');
  await a.call('closeWriter', 'shared');
  for (let i = 0; i < 100 && (await a.call('lockHeld', 'shared')); i++) await new Promise((r) => setTimeout(r, 20));
  expect(await a.call('lockHeld', 'shared')).toBe(false);
  await a.page.close();
});

test('a full quota names the store and the kept step; the run resumes to the same bytes', async () => {
  const a = await tab();
  const r = await a.call('quota', 'quota');
  expect(r.message).toMatch(
    /^storage full \(browser quota\) while saving the train state of step 6 \(0\.\d MB\) to IndexedDB "taskscope-fault-runs" run "quota": The quota has been exceeded\.; the state of step 3 is intact and nothing of step 6 was kept; free space \(delete old runs or cached datasets\) and resume the run from step 3$/,
  );
  expect(r.resumedAt).toBe(3);
  expect(r.digest).toBe(reference);
  await a.page.close();
});
