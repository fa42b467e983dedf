import type { Page } from 'playwright-core';
import type { BrowserHarness } from '../tests/browser/harness.ts';
import type { computeHarness } from '../tests/harness/compute.ts';

type ComputeWindow = { __taskscopeCompute?: typeof computeHarness };

/**
 * Opens the compute harness page (tests/harness/compute.html) in a started Chromium and returns callers of its
 * named module workers: `spawn(name)` starts one, `call(name, method, ...args)` runs a method inside it.
 */
export async function openComputePage(h: BrowserHarness): Promise<{
  page: Page;
  spawn: (name: string) => Promise<void>;
  call: <T>(name: string, method: string, ...args: unknown[]) => Promise<T>;
}> {
  const { page } = await h.open('tests/harness/compute.html');
  await page.waitForFunction(() => (window as unknown as ComputeWindow).__taskscopeCompute !== undefined, undefined, { timeout: 120_000 });
  return {
    page,
    spawn: (name) => page.evaluate((n) => (window as unknown as Required<ComputeWindow>).__taskscopeCompute.spawn(n), name),
    call: <T>(name: string, method: string, ...args: unknown[]) =>
      page.evaluate(([n, m, a]) => (window as unknown as Required<ComputeWindow>).__taskscopeCompute.call(n, m as never, a), [
        name,
        method,
        args,
      ] as const) as Promise<T>,
  };
}
