import { existsSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { createServer, type ViteDevServer } from 'vite';
import { chromium, type Browser, type Page } from 'playwright-core';
import { assetsDir, repoRoot } from '../helpers/shared.ts';

/**
 * One Vite dev server (the repo's own config, on a free port) plus one headless Debian Chromium with
 * WebGPU enabled, for a browser test file. Call `close()` in afterAll: a leftover server keeps
 * listening after the test process is gone (docs/architecture.md, tfjs trap 9).
 */
export interface BrowserHarness {
  baseUrl: string;
  browser: Browser;
  /** Opens `path` (relative to the repo root) in a fresh page; page errors and console errors are collected. */
  open(path: string): Promise<{ page: Page; errors: string[] }>;
  close(): Promise<void>;
}

export const CHROMIUM_PATH = process.env.TASKSCOPE_CHROMIUM ?? '/usr/bin/chromium';

// Pre-bundling these up front stops Vite from discovering them on the first worker request and then
// reloading the page mid-test.
const PREBUNDLED = ['@tensorflow/tfjs', '@tensorflow/tfjs-backend-webgpu', '@tensorflow/tfjs-backend-wasm', 'comlink', '@observablehq/plot'];

/** `chromiumArgs` replaces the default flags (the GPU bench passes the Vulkan flags a real GPU needs). */
export async function startBrowserHarness({ chromiumArgs = ['--enable-unsafe-webgpu'] }: { chromiumArgs?: string[] } = {}): Promise<BrowserHarness> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(`Chromium not found at ${CHROMIUM_PATH}: apt-get install -y chromium, or set TASKSCOPE_CHROMIUM`);
  }
  let server: ViteDevServer | undefined;
  let browser: Browser | undefined;
  try {
    server = await createServer({
      configFile: resolve(repoRoot, 'vite.config.ts'),
      root: repoRoot,
      logLevel: 'warn',
      clearScreen: false,
      // Keep the test server's dependency cache apart from a developer's running `npm start`.
      cacheDir: resolve(repoRoot, 'node_modules/.vite-browser-tests'),
      optimizeDeps: { include: PREBUNDLED },
      server: { host: '127.0.0.1', port: 0, strictPort: true, hmr: false, watch: null },
    });
    // The mirror plugin serves ../shared/assets or .cache/shared/assets (npm run assets); fail early if the tests would 404.
    if (!existsSync(assetsDir)) throw new Error(`shared assets missing at ${assetsDir}`);
    await server.listen();
    const address = server.httpServer?.address() as AddressInfo | null;
    if (!address) throw new Error('Vite dev server has no address after listen()');
    const baseUrl = `http://127.0.0.1:${address.port}`;
    browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: chromiumArgs });
    const b = browser;
    const s = server;
    return {
      baseUrl,
      browser: b,
      async open(path: string) {
        const page = await b.newPage();
        // A cold Vite transform of the app takes longer than Playwright's 30 s default on a loaded machine.
        page.setDefaultNavigationTimeout(120_000);
        const errors: string[] = [];
        page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
        page.on('console', (m) => {
          if (m.type() === 'error' && !m.text().includes('favicon')) errors.push(`console: ${m.text()}`);
        });
        await page.goto(`${baseUrl}/${path.replace(/^\//, '')}`);
        return { page, errors };
      },
      async close() {
        await b.close().catch(() => {});
        await s.close();
      },
    };
  } catch (e) {
    await browser?.close().catch(() => {});
    await server?.close().catch(() => {});
    throw e;
  }
}

/** The test-only page APIs a harness page puts on `window` (tests/harness/*.ts). */
type HarnessGlobal = '__taskscope' | '__taskscopeData';

/**
 * A typed caller for the functions a harness page exposes on `window[global]`: `call('name', ...args)` runs
 * the function inside the page and returns its (structured-cloned) result.
 */
export function pageApi<Api extends object>(page: Page, global: HarnessGlobal) {
  return <K extends keyof Api>(
    name: K,
    ...args: Api[K] extends (...a: infer P) => unknown ? P : never
  ): Promise<Api[K] extends (...a: never[]) => infer R ? Awaited<R> : never> =>
    page.evaluate(([g, n, a]) => (window as unknown as Record<string, Record<string, (...x: unknown[]) => unknown>>)[g][n as string](...(a as unknown[])), [
      global,
      name,
      args,
    ] as const) as Promise<Api[K] extends (...a: never[]) => infer R ? Awaited<R> : never>;
}
