import { mkdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { DataHarnessApi } from '../harness/data.ts';
import { repoRoot } from '../helpers/shared.ts';
import { pageApi, startBrowserHarness, type BrowserHarness } from './harness.ts';

let h: BrowserHarness;
let page: Page;
let errors: string[];
let call: ReturnType<typeof pageApi<DataHarnessApi>>;
const numbers: Record<string, unknown> = {};

beforeAll(async () => {
  h = await startBrowserHarness();
  ({ page, errors } = await h.open('tests/harness/data.html'));
  call = pageApi<DataHarnessApi>(page, '__taskscopeData');
  await page.waitForFunction(() => window.__taskscopeData !== undefined, undefined, { timeout: 120_000 });
});

afterAll(async () => {
  await h?.close();
  // Informational numbers from this run (the benchmark proper is bench/dataBrowserBench.ts).
  if (Object.keys(numbers).length > 0) {
    mkdirSync(resolve(repoRoot, 'artifacts'), { recursive: true });
    writeFileSync(resolve(repoRoot, 'artifacts/data-browser-test.json'), `${JSON.stringify({ ...numbers, date: new Date().toISOString() }, null, 2)}\n`);
  }
});

test('the data worker lists the registry', async () => {
  const tasks = await call('tasks');
  expect(tasks.map((t) => t.name)).toEqual(['CoLA', 'SST-2', 'MRPC', 'STS-B', 'QQP', 'MNLI', 'QNLI', 'RTE', 'WNLI', 'AX', 'SciTail', 'SNLI']);
});

test('checks SST-2 from the GLUE TSV mirror and MNLI from the Hub mirror in the worker', async () => {
  const sst = await call('check', 'glue-url', 'SST-2');
  expect(sst.res.map((r) => [r.split, r.rows, r.issues.length])).toEqual([
    ['train', 67349, 0],
    ['dev', 872, 0],
    ['test', 1821, 0],
  ]);
  numbers.sst2TsvParseRowsPerSec = Math.round(((67349 + 872 + 1821) / sst.ms) * 1000);
  const mnli = await call('check', 'hub', 'MNLI');
  expect(mnli.res.map((r) => [r.split, r.rows, r.labelCounts ?? null])).toEqual([
    ['train', 0, null],
    ['dev_matched', 9815, [3213, 3123, 3479]],
    ['dev_mismatched', 9832, [3240, 3129, 3463]],
    ['test_matched', 9796, null],
    ['test_mismatched', 9847, null],
  ]);
  expect(mnli.res[0].file).toBeNull();
  const zip = await call('check', 'zip', 'RTE');
  expect(zip.res.map((r) => [r.split, r.file, r.rows])).toEqual([
    ['train', null, 0],
    ['dev', 'glue_data/RTE/dev.tsv', 277],
    ['test', null, 0],
  ]);
});

test('builds shards into IndexedDB from both sources, reads batches, deletes the cache', async () => {
  await call('deleteCache', 'RTE');
  const tsv = await call('build', 'glue-url', 'RTE', 'train', 128, 512);
  expect([tsv.manifest.rows, tsv.manifest.shards.length, tsv.manifest.complete]).toEqual([2490, 5, true]);
  expect(tsv.events.at(-1)).toMatchObject({ phase: 'done', rows: 2490, shardsWritten: 5, shardsReused: 0 });
  numbers.rteTrainBuildRowsPerSec = Math.round((2490 / tsv.ms) * 1000);
  const pq = await call('build', 'hub', 'RTE', 'train', 128, 512);
  // Same rows from the Hub: every shard is kept.
  expect(pq.events.at(-1)).toMatchObject({ phase: 'done', shardsWritten: 0, shardsReused: 5 });
  expect(pq.manifest.shards.map((s) => s.checksum)).toEqual(tsv.manifest.shards.map((s) => s.checksum));
  expect(pq.manifest.source.kind).toBe('parquet');

  const size = await call('cacheSize');
  expect(size.shardBytes).toBe(tsv.manifest.bytes);
  const key = { task: 'RTE', split: 'train', variant: tsv.manifest.variant };
  const b = await call('batches', [key], 3);
  expect(b.info.batchesPerEpoch).toBe(Math.ceil(2490 / 8));
  for (const x of b.out) {
    expect(x.task).toBe('RTE');
    expect(x.ids).toBe(x.batchSize * x.seqLen);
    expect(x.seqLen).toBeLessThanOrEqual(128);
  }
  expect(b.position.cursor).toBe(3);
  expect(await call('deleteCache', 'RTE')).toBe(1);
  expect(await call('cached')).toEqual([]);
});

test('a data worker killed mid-build resumes in a new worker to the same shard checksums as an uninterrupted build', async () => {
  const r = await call('killMidBuild', 'SST-2', 'dev', 128, 100, 3);
  expect(r.killedAt).toBeGreaterThanOrEqual(3);
  expect(r.rows).toEqual([872, 872]);
  expect(r.resumed).toHaveLength(9);
  expect(r.resumed).toEqual(r.clean);
  // The resumed build kept what the killed worker had finished instead of starting over.
  expect(r.resumedLast).toMatchObject({ phase: 'done', shardsWritten: 9 - r.killedAt, shardsReused: r.killedAt });
});

test('a full quota in real IndexedDB names the shard, keeps the earlier shards intact, and a later build resumes', async () => {
  const r = await call('quotaFull', 'RTE', 'dev', 64, 2);
  expect(r.message).toBe(
    'StorageFullError: storage full while writing shard 2 of RTE/dev to IndexedDB "taskscope-quota-test": The quota has been exceeded. (shards 0–1 are kept; free space and build again to continue)',
  );
  expect([r.keptShards, r.complete]).toEqual([2, false]);
  expect(r.verified).toEqual([true, true]);
  expect([r.finalRows, r.finalComplete]).toEqual([277, true]);
});

test('IndexedDB shard throughput', async () => {
  const r = await call('idbThroughput', 16, 1);
  expect(r.mb).toBe(16);
  numbers.idb = r;
  expect(errors).toEqual([]);
});
