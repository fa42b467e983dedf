import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { build } from 'vite';
import { chromium, type Browser, type Page } from 'playwright-core';
import { assetsDir, repoRoot } from '../helpers/shared.ts';
import { CHROMIUM_PATH } from './harness.ts';
import { startStaticServer, type StaticServer } from './staticServer.ts';

/** The sub-path a project page host serves the built site under. */
export const SITE_PREFIX = '/taskscope/';

export interface BuiltSite {
  /** The `vite build` output folder. */
  outDir: string;
  /** The plain static server (no special headers) with the site under SITE_PREFIX. */
  server: StaticServer;
  browser: Browser;
  /** A fresh page whose page errors and console errors are collected in `errors`. */
  newPage(): Promise<{ page: Page; errors: string[] }>;
}

/**
 * Builds the site once for a test file (into a temp folder named `tmpPrefix…`), serves it with the static
 * server and starts Chromium; everything is closed and removed after the file. The fields are set in beforeAll.
 */
export function useBuiltSite(tmpPrefix: string): BuiltSite {
  const site = {
    async newPage() {
      const page = await site.browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
      page.on('console', (m) => {
        if (m.type() === 'error') errors.push(`console: ${m.text()}`);
      });
      return { page, errors };
    },
  } as BuiltSite;
  beforeAll(async () => {
    site.outDir = mkdtempSync(join(tmpdir(), tmpPrefix));
    await build({ configFile: resolve(repoRoot, 'vite.config.ts'), root: repoRoot, logLevel: 'warn', build: { outDir: site.outDir, emptyOutDir: true } });
    site.server = await startStaticServer(site.outDir, SITE_PREFIX, assetsDir);
    site.browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: ['--enable-unsafe-webgpu'] });
  }, 300_000);
  afterAll(async () => {
    await site.browser?.close().catch(() => {});
    await site.server?.close();
    if (site.outDir) rmSync(site.outDir, { recursive: true, force: true });
  });
  return site;
}
