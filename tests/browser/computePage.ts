import type { Page } from 'playwright-core';
import type { BrowserHarness } from './harness.ts';
import type { computeHarness } from '../harness/compute.ts';

type ComputeWindow = { __taskscopeCompute?: typeof computeHarness };

/**
 * Opens the compute harness page (tests/harness/compute.html) in a started Chromium and returns callers of its
 * named module workers: `spawn(name)` starts one, `call(name, method, ...args)` runs a method inside it.
 */
export interface ComputePage {
  page: Page;
  /** Page errors and console errors, as BrowserHarness.open collects them. */
  errors: string[];
  spawn: (name: string) => Promise<void>;
  call: <T>(name: string, method: string, ...args: unknown[]) => Promise<T>;
}

/** Used by the backend tests and the browser and GPU benches. */
export async function openComputePage(h: BrowserHarness): Promise<ComputePage> {
  const { page, errors } = await h.open('tests/harness/compute.html');
  await page.waitForFunction(() => (window as unknown as ComputeWindow).__taskscopeCompute !== undefined, undefined, { timeout: 120_000 });
  return {
    page,
    errors,
    spawn: (name) => page.evaluate((n) => (window as unknown as Required<ComputeWindow>).__taskscopeCompute.spawn(n), name),
    call: <T>(name: string, method: string, ...args: unknown[]) =>
      page.evaluate(([n, m, a]) => (window as unknown as Required<ComputeWindow>).__taskscopeCompute.call(n, m as never, a), [
        name,
        method,
        args,
      ] as const) as Promise<T>,
  };
}
