import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { hashFor, openTab, smallSynthetic, UNREACHABLE_MIRROR, waitForApp } from './appHelpers.ts';
import { startBrowserHarness, type BrowserHarness } from './harness.ts';

/**
 * Results → "Import PyTorch run": the folder train.py wrote (after `taskscope import-run`) becomes a stored run
 * with its steps, metrics and head importance. The files are small hand-made ones in the exported trainer's format.
 */

let h: BrowserHarness;
let dir: string;
beforeAll(async () => {
  h = await startBrowserHarness();
  dir = mkdtempSync(join(tmpdir(), 'taskscope-torch-import-'));
});
afterAll(async () => {
  await h?.close();
  rmSync(dir, { recursive: true, force: true });
});

function writeRunFolder(root: string): void {
  mkdirSync(join(root, 'checkpoint'), { recursive: true });
  const step = (n: number, task: string, loss: number) => ({
    type: 'step',
    step: n,
    totalSteps: 3,
    epoch: 0,
    task,
    tasks: [task],
    weights: [1],
    loss,
    perTaskLoss: { [task]: loss },
    lr: 1e-3,
    gradNorm: 1,
    examplesPerSec: 50,
    tokensPerSec: 900,
    etaSeconds: 0,
    elapsedSeconds: n,
  });
  const evaluation = {
    step: 3,
    epoch: 0,
    tasks: [
      { task: 'RTE', rows: 277, loss: 0.69, metrics: { acc: 0.5415 }, score: 0.5415 },
      { task: 'WNLI', rows: 71, loss: 0.7, metrics: { acc: 0.4366 }, score: 0.4366 },
    ],
    glueScore: 0.48905,
  };
  const log = [
    { type: 'status', status: 'running', step: 0 },
    step(1, 'RTE', 0.71),
    step(2, 'WNLI', 0.69),
    step(3, 'RTE', 0.68),
    { type: 'eval', ...evaluation },
    { type: 'status', status: 'done', step: 3 },
  ];
  writeFileSync(join(root, 'log.jsonl'), log.map((l) => JSON.stringify(l)).join('\n') + '\n');
  writeFileSync(join(root, 'metrics.json'), JSON.stringify({ status: 'done', step: 3, backend: 'torch 1.13.0 cpu', evaluation }));
  const imp = [
    [0, 0.5, 1, 0.25],
    [1, 0.75, 0, 0.5],
  ];
  writeFileSync(
    join(root, 'import.json'),
    JSON.stringify({
      format: 'taskscope-import/1',
      importance: { RTE: { examples: 12, raw: imp, normalized: imp }, WNLI: { examples: 12, raw: imp, normalized: imp } },
      correlation: {
        kendall_tau_b: {
          tasks: ['RTE', 'WNLI'],
          method: 'kendall_tau_b',
          values: [
            [1, 1],
            [1, 1],
          ],
        },
        spearman: {
          tasks: ['RTE', 'WNLI'],
          method: 'spearman',
          values: [
            [1, 1],
            [1, 1],
          ],
        },
      },
    }),
  );
  writeFileSync(
    join(root, 'checkpoint', 'config.json'),
    JSON.stringify({
      model_type: 'bert',
      vocab_size: 200,
      hidden_size: 32,
      num_hidden_layers: 2,
      num_attention_heads: 4,
      intermediate_size: 64,
      max_position_embeddings: 64,
      type_vocab_size: 2,
    }),
  );
  writeFileSync(join(root, 'checkpoint', 'experiment.json'), JSON.stringify({ name: 'torch-import', tasks: [{ name: 'RTE' }, { name: 'WNLI' }] }));
}

describe('Results: import a PyTorch run', () => {
  test('a picked run folder is stored as a run with its steps and mean dev score', async () => {
    const runDir = join(dir, 'run');
    writeRunFolder(runDir);
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
      .poll(() => page.getByTestId('results-status').textContent(), { timeout: 60_000 })
      .toBe('Imported torch-import (PyTorch): 3 steps, head importance and correlation from import-run.');
    const row = page.getByTestId('run-row').filter({ hasText: 'torch-import (PyTorch)' });
    await row.waitFor();
    const cells = await row.locator('td').allTextContents();
    expect(cells[4]).toBe('3 / 3');
    expect(cells[5]).toBe('RTE, WNLI');
    expect(cells[6]).toBe('2×4, H=32');
    expect(cells[7]).toBe('torch 1.13.0 cpu');
    expect(cells[8]).toBe('48.91');
    expect(errors).toEqual([]);
  });
});
