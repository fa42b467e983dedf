import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { glueTorchExperiment, readLog, runFolderBlobs, runTorch } from '../helpers/torchExport.ts';
import { runExportTorchCli } from '../../src/cli/commands/exportTorch.ts';
import { runImportRunCli } from '../../src/cli/commands/importRun.ts';
import { importTorchRunFiles } from '../../workers/trainer/importTorchRun.ts';

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'taskscope-torch-rt-'));
});
afterAll(() => rm(tmp, { recursive: true, force: true }));

describe('export-torch → train.py → import-run', () => {
  it('RTE (SAN head) + WNLI from the shared GLUE files: metrics, curves and head importance come back', async () => {
    const config = join(tmp, 'exp.json');
    await writeFile(config, JSON.stringify(glueTorchExperiment('torch-roundtrip', 'san')));
    const exportDir = join(tmp, 'export');
    const notes: string[] = [];
    await runExportTorchCli({ config, out: exportDir, cache: join(tmp, 'shards') }, (l) => notes.push(l));
    expect(notes).toContain('RTE: 48 training rows, 277 dev rows');
    expect((await readdir(exportDir)).sort()).toEqual([
      'README.md',
      'data',
      'experiment.json',
      'export.json',
      'init',
      'mtdnn',
      'schedule-check.jsonl',
      'taskscope_torch',
      'train.py',
    ]);
    // train.py generates the schedule; the check file holds the whole (short) run here: 3 + 3 batches of 16.
    expect((await readFile(join(exportDir, 'schedule-check.jsonl'), 'utf8')).trim().split('\n')).toHaveLength(6);
    await expect(runExportTorchCli({ config, out: exportDir, cache: join(tmp, 'shards') }, () => {})).rejects.toThrow(
      `--out: ${exportDir} is not empty; export into a new folder`,
    );
    // --run: the experiment of a `taskscope train` run folder gives the same export.
    const trainRun = join(tmp, 'train-run');
    await mkdir(join(trainRun, 'checkpoint'), { recursive: true });
    await writeFile(join(trainRun, 'checkpoint', 'experiment.json'), await readFile(join(exportDir, 'experiment.json'), 'utf8'));
    await runExportTorchCli({ run: trainRun, out: join(tmp, 'export-of-run'), cache: join(tmp, 'shards') }, () => {});
    for (const f of ['export.json', 'schedule-check.jsonl', 'data/RTE/train.jsonl', 'init/heads.json', 'taskscope_torch/schedule.py']) {
      expect(await readFile(join(tmp, 'export-of-run', f), 'utf8')).toBe(await readFile(join(exportDir, f), 'utf8'));
    }
    await expect(runExportTorchCli({ run: join(tmp, 'nowhere'), out: join(tmp, 'x'), cache: join(tmp, 'shards') }, () => {})).rejects.toThrow(
      `--run: ${join(tmp, 'nowhere')} has neither checkpoint/experiment.json nor state/state.json: not a taskscope train run folder`,
    );

    const runDir = join(tmp, 'torch-run');
    await runTorch(exportDir, ['--out', runDir, '--threads', '1', '--importance-rows', '12']);
    const log = await readLog(join(runDir, 'log.jsonl'));
    const steps = log.filter((l) => l.type === 'step');
    expect(steps.map((s) => s.step)).toEqual([1, 2, 3, 4, 5, 6]);
    const evals = log.filter((l) => l.type === 'eval');
    expect(evals).toHaveLength(1); // the epoch end is the last step
    expect(evals[0].tasks.map((t: { task: string; rows: number }) => `${t.task}:${t.rows}`)).toEqual(['RTE:277', 'WNLI:71']);

    const imported = join(tmp, 'imported');
    const lines: string[] = [];
    await runImportRunCli(runDir, { out: imported, importanceRows: '12' }, (l) => lines.push(l));
    console.log(lines.join('\n'));
    expect((await readdir(imported)).sort()).toEqual(['checkpoint', 'import.json', 'log.jsonl', 'metrics.json']);
    // What Results and `study` read: metrics.json's evaluation is the log's last evaluation, value for value.
    const metrics = JSON.parse(await readFile(join(imported, 'metrics.json'), 'utf8'));
    const { type: _type, wallSeconds: _wall, ...lastEval } = evals[0];
    expect(metrics.evaluation).toEqual(lastEval);
    expect(metrics.status).toBe('done');
    expect(await readFile(join(imported, 'log.jsonl'), 'utf8')).toBe(await readFile(join(runDir, 'log.jsonl'), 'utf8'));
    const report = JSON.parse(await readFile(join(imported, 'import.json'), 'utf8'));
    // Taskscope's own evaluation of the imported weights agrees with the PyTorch trainer's (SAN and linear heads).
    expect(report.maxMetricDifference).toBeLessThan(1e-5);
    report.taskscopeEvaluation.tasks.forEach((t: { loss: number }, i: number) => expect(Math.abs(t.loss - evals[0].tasks[i].loss)).toBeLessThan(1e-5));
    // Head importance: Taskscope on the imported checkpoint vs the exported trainer's own computation.
    expect(Object.keys(report.importance)).toEqual(['RTE', 'WNLI']);
    expect(report.importance.RTE.examples).toBe(12);
    expect(report.torchImportanceMaxDifference).toBeLessThan(1e-4);
    const torchImportance = JSON.parse(await readFile(join(runDir, 'importance.json'), 'utf8')).tasks;
    expect(torchImportance.RTE.examples).toBe(12);
    // The page's import (Results → "Import PyTorch run"): the trainer worker loads train.py's --out folder itself and
    // measures head importance on the imported checkpoint; no import-run numbers are involved.
    const picked = await runFolderBlobs(runDir, ['RTE', 'WNLI']);
    const record = await importTorchRunFiles(picked, 'torch-test', '2026-01-01T00:00:00.000Z', 12);
    expect(record).toMatchObject({
      id: 'torch-test',
      name: 'torch-roundtrip (PyTorch)',
      status: 'done',
      step: 6,
      totalSteps: 6,
      model: { layers: 2, heads: 4, hidden: 32, vocabSize: 200 },
    });
    expect(record.evaluation).toEqual(lastEval);
    expect(record.losses.map((p) => `${p.step}:${p.task}`)).toEqual(steps.map((s) => `${s.step}:${s.task}`));
    expect(record.losses.map((p) => p.loss)).toEqual(steps.map((s) => s.loss));
    expect(record.importance!.probeRows).toEqual({ RTE: 12, WNLI: 12 });
    for (const t of ['RTE', 'WNLI']) {
      const mine = record.importance!.tasks[t];
      // The same engine computation as import-run's, and PyTorch's own measure on the trained weights within 1e-4.
      expect(mine).toEqual(report.importance[t].normalized);
      const worst = Math.max(...mine.flatMap((row, l) => row.map((v, h) => Math.abs(v - torchImportance[t].normalized[l][h]))));
      console.log(`${t}: head importance, worker import vs train.py: max |Δ| ${worst.toExponential(2)}`);
      expect(worst).toBeLessThan(1e-4);
    }
    expect(record.correlation!.kendall_tau_b.tasks).toEqual(['RTE', 'WNLI']);
    expect(record.correlation!.spearman.values[0][1]).toBeCloseTo(report.correlation.spearman.values[0][1], 12);
    picked.delete('data/RTE/dev.jsonl');
    picked.delete('data/WNLI/dev.jsonl');
    await expect(importTorchRunFiles(picked, 'x')).rejects.toThrow(
      'no data/<task>/dev.jsonl in the folder: head importance needs the dev rows train.py copies there',
    );
    expect(report.correlation.kendall_tau_b.tasks).toEqual(['RTE', 'WNLI']);
    expect(report.correlation.spearman.values[0][1]).toBe(report.correlation.spearman.values[1][0]);
  }, 600_000);
});
