import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { strFromU8, unzipSync, zipSync } from 'fflate';
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { Page } from 'playwright-core';
import { getTask } from '../../datasets/glueTasks.ts';
import { parseAppExperiment } from '../../src/urlState/appExperiment.ts';
import { glueDemoExperiment } from '../../src/urlState/defaults.ts';
import { fixtureModelDir, glueDir } from '../helpers/shared.ts';
import { hashFor, openTab, smallSynthetic, tableMatrix, UNREACHABLE_MIRROR, waitForApp, waitForRunEnd, workerCurrent, workerImportance } from './appHelpers.ts';
import { startBrowserHarness, type BrowserHarness } from './harness.ts';

/**
 * "Run demo" against a mirror: the dev server serves ../shared/assets under /mirror/, so the Hub Parquet files
 * of RTE and MRPC come from /mirror/hub and the model is the BERT-Tiny-shaped random fixture (no pretrained
 * weights exist on these machines). Trained on wasm: this test is about the flow, not the backend.
 */

let h: BrowserHarness;
let page: Page;
let errors: string[];

beforeAll(async () => {
  h = await startBrowserHarness();
});

afterAll(async () => {
  await h?.close();
});

const demo = {
  mirror: './mirror/hub',
  model: './mirror/fixtures/bert-tiny-arch-random',
  tasks: ['RTE', 'MRPC'],
  rowsPerTask: 32,
  devRows: 32,
  importanceEvery: 2,
  probeRows: 16,
};

test('"Run demo" through the mirror: Hub Parquet shards cached, a few steps, live loss and head maps', async () => {
  // The composed experiment only contributes its backend (wasm) to the demo.
  const exp = { ...glueDemoExperiment({ ...demo, mirror: './mirror/hub' }), backend: 'wasm' as const };
  ({ page, errors } = await h.open(`index.html${hashFor(exp, { demo })}`));
  await page.setViewportSize({ width: 1280, height: 900 });
  await waitForApp(page);
  expect(await page.getByTestId('demo-mirror').inputValue()).toBe('./mirror/hub');
  await page.getByTestId('run-demo').click();
  await waitForRunEnd(page, 300_000);

  const run = (await workerCurrent(page))!;
  expect(run.dataKind).toBe('shards');
  expect(run.model.origin).toMatch(/\/mirror\/fixtures\/bert-tiny-arch-random$/);
  expect([run.model.layers, run.model.heads, run.model.hidden, run.model.vocabSize]).toEqual([2, 2, 128, 30522]);
  expect(run.experiment.tasks.map((t) => [t.name, t.maxTrainRows])).toEqual([
    ['RTE', 32],
    ['MRPC', 32],
  ]);
  expect(run.backend).toBe('wasm');
  // 32 rows per task in batches of 16: 2 batches each, one epoch.
  expect(run.totalSteps).toBe(4);
  expect(run.step).toBe(4);
  expect(run.evaluation!.tasks.map((t) => [t.task, t.rows])).toEqual([
    ['RTE', 32],
    ['MRPC', 32],
  ]);
  expect(Object.keys(run.evaluation!.tasks[1].metrics).sort()).toEqual(['acc', 'f1']);

  await openTab(page, 'Train');
  await expect.poll(() => page.getByTestId('loss-chart').locator('g[aria-label="line"] path').count()).toBe(2);
  const cells = await page
    .getByTestId('metrics')
    .locator('tbody tr')
    .evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)));
  const shownMetrics = cells.slice(0, 3);
  expect(shownMetrics.map((r) => r.slice(0, 2))).toEqual([
    ['RTE', 'acc'],
    ['MRPC', 'acc'],
    ['MRPC', 'f1'],
  ]);
  // The table shows the worker's dev metrics ×100.
  const m = run.evaluation!.tasks;
  expect(shownMetrics.map((r) => r[2])).toEqual([m[0].metrics.acc!, m[1].metrics.acc!, m[1].metrics.f1!].map((x) => (x * 100).toFixed(2)));

  const imp = (await workerImportance(page))!;
  expect(imp.step).toBe(4);
  await openTab(page, 'Heads');
  for (const task of ['RTE', 'MRPC']) {
    await page.getByTestId('heads-task').selectOption(task);
    await expect.poll(() => page.getByTestId('heads-heatmap').locator('figcaption').textContent()).toBe(task);
    expect(await tableMatrix(page, 'heads-numbers')).toEqual(imp.tasks[task].map((r) => r.map((x) => Number(x.toFixed(4)))));
  }

  // The data worker cached every split it read, with the official row counts of the Hub files.
  await openTab(page, 'Data');
  const cache = page.getByTestId('cache-table');
  await cache.waitFor();
  const cached = (await cache.locator('tbody tr').allTextContents()).map((r) => r.replace(/len128-uncased-[0-9a-f]{12}/, 'V'));
  for (const [task, split] of [
    ['RTE', 'train'],
    ['RTE', 'dev'],
    ['MRPC', 'train'],
    ['MRPC', 'dev'],
  ] as const) {
    const rowsOfficial = getTask(task).splits.find((s) => s.name === split)!.rows;
    // The Data view writes row counts with thousands separators.
    expect(cached.some((r) => r.startsWith(`${task}${split}V${rowsOfficial?.toLocaleString('en-US')}`))).toBe(true);
  }
  expect(errors).toEqual([]);
});

test('the GLUE submission zip of the run holds RTE.tsv and MRPC.tsv with every test example', async () => {
  await openTab(page, 'Results');
  const row = page.getByTestId('run-row').filter({ hasText: 'GLUE demo' });
  const [download] = await Promise.all([page.waitForEvent('download', { timeout: 300_000 }), row.getByRole('button', { name: 'GLUE submission' }).click()]);
  const files = unzipSync(new Uint8Array(readFileSync(await download.path())));
  expect(Object.keys(files).sort()).toEqual(['MRPC.tsv', 'RTE.tsv']);
  const rte = strFromU8(files['RTE.tsv']).trimEnd().split('\n');
  const mrpc = strFromU8(files['MRPC.tsv']).trimEnd().split('\n');
  expect(rte[0]).toBe('index\tprediction');
  expect(rte.length - 1).toBe(3000);
  expect(mrpc.length - 1).toBe(1725);
  expect(new Set(rte.slice(1).map((l) => l.split('\t')[1])).size).toBeLessThanOrEqual(2);
  for (const l of rte.slice(1)) expect(['entailment', 'not_entailment']).toContain(l.split('\t')[1]);
  for (const l of mrpc.slice(1)) expect(['0', '1']).toContain(l.split('\t')[1]);
  // A partial submission: the other nine test files are named as missing.
  expect(await page.getByTestId('results-status').textContent()).toMatch(/^GLUE submission with RTE\.tsv, MRPC\.tsv|^GLUE submission with MRPC\.tsv, RTE\.tsv/);
  expect(await page.getByTestId('results-status').textContent()).toContain('missing CoLA.tsv, SST-2.tsv');
  expect(errors).toEqual([]);
});

// The demo experiment is itself a valid experiment of the one schema.
test('the demo experiment validates', () => {
  expect(parseAppExperiment(glueDemoExperiment({ ...demo })).data).toEqual({ kind: 'hub', mirror: './mirror/hub' });
});

test('offline: a local model folder and a GLUE zip imported from the offline panel make "Run demo" work without downloads', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'taskscope-glue-'));
  const zipPath = join(dir, 'my-glue.zip');
  writeFileSync(
    zipPath,
    zipSync({
      'glue_data/RTE/train.tsv': new Uint8Array(readFileSync(join(glueDir, 'RTE/train.tsv'))),
      'glue_data/RTE/dev.tsv': new Uint8Array(readFileSync(join(glueDir, 'RTE/dev.tsv'))),
    }),
  );
  try {
    const offlineDemo = { ...demo, mirror: UNREACHABLE_MIRROR, model: 'google/bert_uncased_L-4_H-256_A-4', tasks: ['RTE'] };
    const o = await h.open(`index.html${hashFor({ ...smallSynthetic(), backend: 'wasm' }, { demo: offlineDemo })}`);
    const p = o.page;
    await waitForApp(p);
    // The link names a mirror host this browser has not used: the page asks before fetching from it.
    expect(await p.getByTestId('pending-host').allTextContents()).toEqual(['127.0.0.1:9']);
    await p.getByTestId('hosts-allow').click();
    await p.getByTestId('run-demo').click();
    await p.getByTestId('offline').waitFor({ timeout: 60_000 });
    await p.getByLabel('import a local Hugging Face model folder').setInputFiles(fixtureModelDir('bert-tiny-arch-random'));
    await p.getByLabel('a GLUE zip').setInputFiles(zipPath);
    expect(await p.getByTestId('notice').textContent()).toBe('GLUE data "my-glue.zip" is ready: the next run reads its tasks from it.');
    await p.getByTestId('run-demo').click();
    await waitForRunEnd(p, 300_000);
    const run = (await workerCurrent(p))!;
    expect(run.experiment.model).toEqual({ kind: 'dir', path: 'bert-tiny-arch-random' });
    expect(run.experiment.data).toEqual({ kind: 'glue-dir', path: 'my-glue.zip' });
    expect(run.model.origin).toBe('bert-tiny-arch-random');
    expect(run.backend).toBe('wasm');
    expect(run.evaluation!.tasks.map((t) => [t.task, t.rows])).toEqual([['RTE', 32]]);
    await openTab(p, 'Data');
    const rte = (await p.getByTestId('cache-table').locator('tbody tr').allTextContents()).filter((r) => r.startsWith('RTEtrain'));
    expect(rte).toHaveLength(1);
    expect(rte[0]).toContain('2,490');
    expect(rte[0]).toContain('my-glue.zip');
    expect(o.errors).toEqual([]);
    await p.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
