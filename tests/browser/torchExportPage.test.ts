import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { strFromU8, unzipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { readLog, readTorchTemplate, runTorch, writeFiles } from '../helpers/torchExport.ts';
import { hashFor, openTab, smallSynthetic, waitForApp, waitForRunEnd, workerCurrent } from './appHelpers.ts';
import { startBrowserHarness, type BrowserHarness } from './harness.ts';

/**
 * Results → "PyTorch (.zip)": a run trained in the page is exported by the trainer worker as the same folder
 * `taskscope export-torch` writes (the same train.py, bundled with the worker), and that folder trains with
 * PyTorch: train.py rebuilds the run's micro-batch schedule itself and checks it against the page's.
 */

let h: BrowserHarness;
let dir: string;
beforeAll(async () => {
  h = await startBrowserHarness();
  dir = mkdtempSync(join(tmpdir(), 'taskscope-torch-export-page-'));
});
afterAll(async () => {
  await h?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('Results: export a run for PyTorch', () => {
  test("the zip holds the CLI's trainer, the run's experiment and rows, and train.py runs the run's schedule", async () => {
    const page = await h.browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
    // 16 rows per task, batch 16, one epoch: 4 steps over the four synthetic tasks.
    const exp = smallSynthetic({ rows: 16, name: 'page export' });
    await page.goto(`${h.baseUrl}/index.html${hashFor(exp)}`, { timeout: 300_000 });
    await waitForApp(page);
    await page.getByTestId('run-synthetic').click();
    expect(await waitForRunEnd(page)).toBe('done');
    const run = (await workerCurrent(page))!;
    expect(run.step).toBe(4);

    await openTab(page, 'Results');
    const row = page.getByTestId('run-row').filter({ hasText: 'page export' });
    const downloaded = page.waitForEvent('download', { timeout: 300_000 });
    await row.getByTestId('export-torch').click();
    const status = page.getByTestId('results-status');
    await expect.poll(() => status.textContent(), { timeout: 300_000 }).toMatch(/^PyTorch export (of|failed)/);
    expect(await status.textContent()).toMatch(/^PyTorch export of page export: page-export-\S+-torch\.zip \(\d+ files\); unzip it/);
    const download = await downloaded;
    const zip = unzipSync(new Uint8Array(readFileSync(await download.path())));
    const files = new Map(Object.entries(zip).map(([name, bytes]) => [name.slice(name.indexOf('/') + 1), bytes] as const));

    // The trainer is the repository's template, byte for byte.
    const template = await readTorchTemplate();
    expect([...template.keys()].every((k) => files.has(k))).toBe(true);
    for (const [name, text] of template) expect(strFromU8(files.get(name)!), name).toBe(text);
    // The run's experiment and its own rows: 16 training rows per task, as the run trained on.
    const stored = JSON.parse(strFromU8(files.get('experiment.json')!));
    expect(stored.name).toBe('page export');
    expect(stored.tasks.map((t: { name: string }) => t.name)).toEqual(['SYN-FIRST', 'SYN-CONTAINS', 'SYN-MATCH', 'SYN-COUNT']);
    for (const t of stored.tasks) {
      const lines = strFromU8(files.get(`data/${t.name}/train.jsonl`)!)
        .trim()
        .split('\n');
      expect(lines, t.name).toHaveLength(16);
    }
    const spec = JSON.parse(strFromU8(files.get('export.json')!));
    expect(spec.totalSteps).toBe(4);

    // PyTorch trains it: train.py generates the schedule, checks it against schedule-check.jsonl (it stops otherwise),
    // and logs the run's 4 steps.
    const exportDir = join(dir, 'export');
    await writeFiles(exportDir, files);
    const runDir = join(dir, 'run');
    await runTorch(exportDir, ['--out', runDir, '--threads', '1']);
    const steps = (await readLog(join(runDir, 'log.jsonl'))).filter((l) => l.type === 'step');
    expect(steps.map((s) => s.step)).toEqual([1, 2, 3, 4]);
    expect(steps.every((s) => Number.isFinite(s.loss))).toBe(true);
    expect(JSON.parse(await readFile(join(runDir, 'metrics.json'), 'utf8')).status).toBe('done');
    expect(errors).toEqual([]);
    await page.close();
  });
});
