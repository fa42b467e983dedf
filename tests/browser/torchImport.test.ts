import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { useBackend } from '../helpers/nodeBackends.ts';
import { glueTorchExperiment, readLog, runFolderBlobs, runTorch } from '../helpers/torchExport.ts';
import { runExportTorchCli } from '../../src/cli/commands/exportTorch.ts';
import { importTorchRunFiles, IMPORT_IMPORTANCE_ROWS } from '../../workers/trainer/importTorchRun.ts';
import type { RunRecord } from '../../workers/trainer/types.ts';
import { hashFor, openTab, smallSynthetic, UNREACHABLE_MIRROR, waitForApp } from './appHelpers.ts';
import { startBrowserHarness, type BrowserHarness } from './harness.ts';

/**
 * Results → "Import PyTorch run": a folder exported by `taskscope export-torch`, trained by its train.py and picked
 * in the page becomes a stored run, and the trainer worker measures head importance on the imported checkpoint.
 */

let h: BrowserHarness;
let dir: string;
beforeAll(async () => {
  await useBackend('cpu');
  h = await startBrowserHarness();
  dir = mkdtempSync(join(tmpdir(), 'taskscope-torch-import-'));
});
afterAll(async () => {
  await h?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Exports RTE + WNLI (48 rows each, the random-tiny fixture model) and trains it with train.py; returns the --out folder. */
async function trainedRunFolder(): Promise<string> {
  const config = join(dir, 'exp.json');
  writeFileSync(config, JSON.stringify(glueTorchExperiment('torch-import')));
  const exportDir = join(dir, 'export');
  await runExportTorchCli({ config, out: exportDir, cache: join(dir, 'shards') }, () => {});
  const runDir = join(dir, 'run');
  await runTorch(exportDir, ['--out', runDir, '--threads', '1', '--importance-rows', String(IMPORT_IMPORTANCE_ROWS)]);
  return runDir;
}

describe('Results: import a PyTorch run', () => {
  test('a picked train.py folder is stored as a run; the worker measures head importance on its checkpoint', async () => {
    const runDir = await trainedRunFolder();
    // The dev server compiles the app on the first request, which can outlast page.goto's default 30 s on a busy
    // machine, so this page is opened with a longer navigation timeout.
    const page = await h.browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error' && !m.text().includes('favicon')) errors.push(`console: ${m.text()}`);
    });
    await page.goto(`${h.baseUrl}/index.html${hashFor(smallSynthetic(), { demo: { mirror: UNREACHABLE_MIRROR } })}`, { timeout: 300_000 });
    await waitForApp(page);
    await openTab(page, 'Results');
    await page.getByTestId('import-torch-run').setInputFiles(runDir);
    await expect
      .poll(() => page.getByTestId('results-status').textContent(), { timeout: 300_000 })
      .toBe('Imported torch-import (PyTorch): 6 steps, head importance and task correlation measured on its checkpoint.');
    const row = page.getByTestId('run-row').filter({ hasText: 'torch-import (PyTorch)' });
    await row.waitFor();
    const cells = await row.locator('td').allTextContents();
    expect(cells[4]).toBe('6 / 6');
    expect(cells[5]).toBe('RTE, WNLI');
    expect(cells[6]).toBe('2×4, H=32');
    // The stored run, as the worker wrote it to IndexedDB.
    const stored = (await page.evaluate(
      () =>
        new Promise((resolve, reject) => {
          const open = indexedDB.open('taskscope-workbench');
          open.onerror = () => reject(open.error);
          open.onsuccess = () => {
            const req = open.result.transaction('runs').objectStore('runs').getAll();
            req.onsuccess = () => resolve(req.result);
            req.onerror = () => reject(req.error);
          };
        }),
    )) as RunRecord[];
    const record = stored.find((r) => r.name === 'torch-import (PyTorch)')!;
    expect(record.importance!.probeRows).toEqual({ RTE: IMPORT_IMPORTANCE_ROWS, WNLI: IMPORT_IMPORTANCE_ROWS });
    // The engine's computation on the same files in Node (cpu backend), and PyTorch's own (train.py --importance-rows).
    const files = await runFolderBlobs(runDir, ['RTE', 'WNLI']);
    const engine = await importTorchRunFiles(files, 'node');
    const torch = JSON.parse(await readFile(join(runDir, 'importance.json'), 'utf8')).tasks as Record<string, { normalized: number[][] }>;
    const worst = (a: number[][], b: number[][]) => Math.max(...a.flatMap((row, l) => row.map((v, k) => Math.abs(v - b[l][k]))));
    for (const t of ['RTE', 'WNLI']) {
      const page = record.importance!.tasks[t];
      console.log(
        `${t}: page vs engine ${worst(page, engine.importance!.tasks[t]).toExponential(2)}, page vs train.py ${worst(page, torch[t].normalized).toExponential(2)}`,
      );
      expect(worst(page, engine.importance!.tasks[t])).toBeLessThan(1e-4);
      expect(worst(page, torch[t].normalized)).toBeLessThan(1e-4);
    }
    expect(record.correlation!.kendall_tau_b.tasks).toEqual(['RTE', 'WNLI']);
    const steps = (await readLog(join(runDir, 'log.jsonl'))).filter((l) => l.type === 'step');
    expect(record.losses.map((p) => p.loss)).toEqual(steps.map((s) => s.loss));
    expect(errors).toEqual([]);
  });
});
