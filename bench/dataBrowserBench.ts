/**
 * The browser half of the data benchmark: the same data worker the app uses, in headless Debian Chromium,
 * reading the GLUE TSVs and the Hub Parquet from the dev server's mirror, tokenizing and writing checksummed
 * shards to IndexedDB; plus IndexedDB write and read+verify MB/s. `bench/dataBench.ts` is the Node half;
 * `npm run bench -- data` runs both in one go.
 *
 *   npx tsx bench/dataBrowserBench.ts
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { DataHarnessApi } from '../tests/harness/data.ts';
import { startBrowserHarness } from '../tests/browser/harness.ts';

export async function runDataBrowserBench(opts: { rounds?: number } = {}) {
  const rounds = opts.rounds ?? 2;
  const h = await startBrowserHarness();
  try {
    const { page } = await h.open('tests/harness/data.html');
    await page.waitForFunction(() => window.__taskscopeData !== undefined, undefined, { timeout: 120_000 });
    const call = <K extends keyof DataHarnessApi>(name: K, ...args: Parameters<DataHarnessApi[K]>) =>
      page.evaluate(([n, a]) => (window.__taskscopeData![n as K] as (...x: unknown[]) => unknown)(...(a as unknown[])), [name, args] as const) as Promise<
        Awaited<ReturnType<DataHarnessApi[K]>>
      >;
    const cases = [
      { label: 'SST-2 train (TSV)', kind: 'glue-url' as const, task: 'SST-2', split: 'train' as const },
      { label: 'QQP dev (Parquet)', kind: 'hub' as const, task: 'QQP', split: 'dev' as const },
    ];
    const rows = [];
    for (const c of cases) {
      const ms: number[] = [];
      let n = 0;
      for (let r = 0; r < rounds; r++) {
        await call('deleteCache', c.task, c.split);
        const b = await call('build', c.kind, c.task, c.split, 128, 4096);
        ms.push(b.ms);
        n = b.manifest.rows;
      }
      await call('deleteCache', c.task, c.split);
      const best = Math.min(...ms);
      rows.push({ case: c.label, rows: n, ms, rowsPerSec: n / (best / 1000) });
    }
    const idb = await call('idbThroughput', 8, 2);
    return {
      bench: 'data-browser',
      what: 'parse + tokenize (max 128) + SHA-256 + IndexedDB shard write, in the data worker',
      chromium: await h.browser.version(),
      rows,
      idb,
    };
  } finally {
    await h.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const r = await runDataBrowserBench();
  for (const x of r.rows)
    console.log(`${x.case.padEnd(20)} ${x.rows} rows  ${Math.round(x.rowsPerSec).toLocaleString('en-US')} rows/s (best of ${x.ms.length})`);
  console.log(`IndexedDB: write ${r.idb.writeMBps.toFixed(0)} MB/s, read+verify ${r.idb.readVerifyMBps.toFixed(0)} MB/s (${r.idb.mb} MB)`);
  mkdirSync(resolve(import.meta.dirname, 'results'), { recursive: true });
  writeFileSync(resolve(import.meta.dirname, 'results/data-browser.json'), JSON.stringify(r, null, 2));
}
