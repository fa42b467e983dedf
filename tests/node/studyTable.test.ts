import { describe, expect, it } from 'vitest';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseStudy } from '../../src/cli/study/studyConfig.ts';
import { armJobs, type StudyJob } from '../../src/cli/study/studyJobs.ts';
import { jobResults, meanStd, studyResults, studyTable } from '../../src/cli/study/studyTable.ts';
import { jobsToRun } from '../../src/cli/study/runStudy.ts';
import { FILE, study, tempRoot, writeJson } from '../helpers/studyFixtures.ts';

describe('jobResults and studyTable on fabricated finished runs', () => {
  const done = (dir: string, exitCode: number, wallSeconds: number) =>
    writeJson(join(dir, 'done.json'), { exitCode, wallSeconds, finishedAt: '2025-01-01T00:00:00.000Z', args: [] });
  const evaluation = (tasks: Record<string, Record<string, number>>) => ({ tasks: Object.entries(tasks).map(([task, metrics]) => ({ task, metrics })) });
  const log = (file: string, rates: number[]) => {
    mkdirSync(dirname(file), { recursive: true });
    // An eval line after the last step: the rate is the last *step* line's.
    const lines = [...rates.map((r, i) => ({ type: 'step', step: i + 1, examplesPerSec: r })), { type: 'eval', step: rates.length }];
    writeFileSync(file, `${lines.map((l) => JSON.stringify(l)).join('\n')}\n`);
  };

  function fabricate(extra: Record<string, unknown> = {}) {
    const out = tempRoot();
    const s = parseStudy(
      study(
        [
          { name: 'solo', mode: 'single', tasks: ['RTE', 'MRPC'], seeds: [1, 2, 3, 4, 5] },
          { name: 'pipe', mode: 'pipeline', tasks: ['RTE', 'MRPC'] },
          { name: 'sel', mode: 'select', selection: { method: 'fastmtl', target: 'RTE' } },
          // Reads a selection that was never written: the table skips the arm instead of failing.
          { name: 'later', mode: 'multi', tasksFrom: { arm: 'sel', seed: 7 } },
        ],
        { out, ...extra },
      ),
      FILE,
    );

    const solo = armJobs(s, s.arms[0]);
    const soloRun = (task: string, seed: number) => join(solo.find((j) => j.task === task && j.seed === seed)!.dir, 'run');
    const rte = [0.5, 0.6, 0.7];
    const mrpc = [
      { acc: 0.7, f1: 0.8 },
      { acc: 0.8, f1: 0.85 },
      { acc: 0.9, f1: 0.9 },
    ];
    const walls = [10, 20, 33];
    for (const [i, seed] of [1, 2, 3].entries()) {
      writeJson(join(soloRun('RTE', seed), 'metrics.json'), { status: 'done', evaluation: evaluation({ RTE: { acc: rte[i] } }) });
      log(join(soloRun('RTE', seed), 'log.jsonl'), [50, [100, 110, 120][i]]);
      done(dirname(soloRun('RTE', seed)), 0, walls[i]);
      writeJson(join(soloRun('MRPC', seed), 'metrics.json'), { status: 'done', evaluation: evaluation({ MRPC: mrpc[i] }) });
      done(dirname(soloRun('MRPC', seed)), 0, 40);
    }
    // Seed 4 failed (its metrics must not count); seed 5 never finished (no done.json).
    writeJson(join(soloRun('RTE', 4), 'metrics.json'), { evaluation: evaluation({ RTE: { acc: 0.99 } }) });
    done(dirname(soloRun('RTE', 4)), 1, 5);
    writeJson(join(soloRun('RTE', 5), 'metrics.json'), { evaluation: evaluation({ RTE: { acc: 0.01 } }) });

    for (const [i, job] of armJobs(s, s.arms[1]).entries()) {
      const run = join(job.dir, 'run');
      writeJson(join(run, 'mtl', 'metrics.json'), evaluation({ RTE: { acc: [0.52, 0.54][i] }, MRPC: { acc: 0.66, f1: [0.75, 0.85][i] } }));
      log(join(run, 'mtl', 'log.jsonl'), [[200, 300][i]]);
      writeJson(join(run, 'finetune', 'RTE', 'metrics.json'), evaluation({ RTE: { acc: [0.6, 0.7][i] } }));
      log(join(run, 'finetune', 'RTE', 'log.jsonl'), [80]);
      // No finetune/MRPC/log.jsonl: that row has no rate.
      writeJson(join(run, 'finetune', 'MRPC', 'metrics.json'), evaluation({ MRPC: { acc: 0.7, f1: 0.8 } }));
      done(job.dir, 0, 100 + 50 * i);
    }

    const [sel1, sel2] = armJobs(s, s.arms[2]);
    writeJson(join(sel1.dir, 'result.json'), {
      target: 'RTE',
      chosen: ['MRPC', 'WNLI'],
      examples: { MRPC: ['a', 'b'], WNLI: ['c'] },
      wallSeconds: 12,
      training: { last: { acc: 0.55 }, wallSeconds: 10, examplesProcessed: 1000 },
    });
    done(sel1.dir, 0, 30);
    writeJson(join(sel2.dir, 'result.json'), {
      target: 'RTE',
      chosen: [],
      examples: {},
      wallSeconds: 8,
      training: { last: { acc: 0.65 }, wallSeconds: 10, examplesProcessed: 1500 },
    });
    done(sel2.dir, 0, 31);
    return { s, solo, sel1 };
  }

  it('jobsToRun: what has not finished successfully, and with --tasks only those single-task runs', () => {
    const { s, solo } = fabricate();
    const label = (js: StudyJob[]) => js.map((j) => `${j.task ?? '*'}/${j.seed}`);
    // RTE seed 4 failed and seed 5 never finished; MRPC seeds 4 and 5 never ran.
    expect(label(jobsToRun(solo))).toEqual(['RTE/4', 'MRPC/4', 'RTE/5', 'MRPC/5']);
    expect(label(jobsToRun(solo, ['RTE']))).toEqual(['RTE/4', 'RTE/5']);
    expect(label(jobsToRun(solo, ['SST-2']))).toEqual([]);
    // A pipeline run covers all its tasks at once: not run under a task filter.
    const pipe = armJobs(s, s.arms[1]);
    rmSync(join(pipe[0].dir, 'done.json'));
    expect(label(jobsToRun(pipe))).toEqual(['*/1']);
    expect(label(jobsToRun(pipe, ['RTE']))).toEqual([]);
  });

  it('meanStd is the sample std', () => {
    const r = meanStd([0.5, 0.6, 0.7]);
    expect(r.mean).toBeCloseTo(0.6, 12);
    expect(r.std).toBeCloseTo(0.1, 12);
    expect(meanStd([0.3])).toEqual({ mean: 0.3, std: 0 });
  });

  it('jobResults reads each kind of run and skips failed and unfinished ones', () => {
    const { s, solo, sel1 } = fabricate();
    const rte1 = solo.find((j) => j.task === 'RTE' && j.seed === 1)!;
    expect(jobResults(rte1)).toEqual([{ arm: 'solo', seed: 1, task: 'RTE', metrics: { acc: 0.5 }, examplesPerSec: 100, wallSeconds: 10 }]);
    expect(jobResults(solo.find((j) => j.task === 'MRPC' && j.seed === 2)!)).toEqual([
      { arm: 'solo', seed: 2, task: 'MRPC', metrics: { acc: 0.8, f1: 0.85 }, examplesPerSec: null, wallSeconds: 40 },
    ]);
    expect(jobResults(solo.find((j) => j.task === 'RTE' && j.seed === 4)!)).toEqual([]);
    expect(jobResults(solo.find((j) => j.task === 'RTE' && j.seed === 5)!)).toEqual([]);

    const pipe2 = armJobs(s, s.arms[1])[1];
    expect(jobResults(pipe2)).toEqual([
      { arm: 'pipe/no-finetune', seed: 2, task: 'RTE', metrics: { acc: 0.54 }, examplesPerSec: 300, wallSeconds: 150 },
      { arm: 'pipe/no-finetune', seed: 2, task: 'MRPC', metrics: { acc: 0.66, f1: 0.85 }, examplesPerSec: 300, wallSeconds: 150 },
      { arm: 'pipe', seed: 2, task: 'RTE', metrics: { acc: 0.7 }, examplesPerSec: 80, wallSeconds: 150 },
      { arm: 'pipe', seed: 2, task: 'MRPC', metrics: { acc: 0.7, f1: 0.8 }, examplesPerSec: null, wallSeconds: 150 },
    ]);

    expect(jobResults(sel1)).toEqual([
      {
        arm: 'sel',
        seed: 1,
        task: 'RTE',
        metrics: { acc: 0.55 },
        examplesPerSec: 100,
        wallSeconds: 30,
        chosen: ['MRPC', 'WNLI'],
        selectionSeconds: 12,
        auxExamples: 3,
      },
    ]);
    // The pipeline writes an empty log.jsonl for a unit that logged no step (resumed at its end): no rate, no crash.
    writeFileSync(join(pipe2.dir, 'run', 'finetune', 'RTE', 'log.jsonl'), '');
    expect(jobResults(pipe2)[2]).toEqual({ arm: 'pipe', seed: 2, task: 'RTE', metrics: { acc: 0.7 }, examplesPerSec: null, wallSeconds: 150 });

    // A selection run without the training part has no dev result to tabulate.
    writeJson(join(sel1.dir, 'result.json'), { target: 'RTE', chosen: ['MRPC'], wallSeconds: 12 });
    expect(jobResults(sel1)).toEqual([]);
  });

  it('studyTable: mean ± sample std ×100, n, examples/s, wall, chosen', () => {
    const { s } = fabricate();
    const results = studyResults(s);
    expect(results).toHaveLength(3 + 3 + 2 * 4 + 2);
    const table = studyTable(s, results);
    expect(table).toBe(
      [
        'Study `st`: dev metrics ×100, mean ± sample std over seeds (n); examples/s = training rows through forward+backward per second; wall = whole CLI run.',
        '',
        '| task | arm | metrics | n | examples/s | wall s (mean) | chosen |',
        '|---|---|---|---|---|---|---|',
        '| RTE | solo | acc 60.00 ± 10.00 | 3 | 110.0 | 21 |  |',
        '| RTE | pipe/no-finetune | acc 53.00 ± 1.41 | 2 | 250.0 | 125 |  |',
        '| RTE | pipe | acc 65.00 ± 7.07 | 2 | 80.0 | 125 |  |',
        '| RTE | sel | acc 60.00 ± 7.07 | 2 | 125.0 | 31 | s1: MRPC+WNLI (3 ex); s2: ∅ (0 ex) |',
        '| MRPC | solo | acc 80.00 ± 10.00; f1 85.00 ± 5.00 | 3 | – | 40 |  |',
        '| MRPC | pipe/no-finetune | acc 66.00 ± 0.00; f1 80.00 ± 7.07 | 2 | 250.0 | 125 |  |',
        '| MRPC | pipe | acc 70.00 ± 0.00; f1 80.00 ± 0.00 | 2 | – | 125 |  |',
        '',
      ].join('\n'),
    );
  });

  it('studyTable with a baseline: Δ of the task scores, the exact permutation p and every seed (p hand-counted over the splits)', () => {
    const { s } = fabricate({ baseline: 'solo' });
    const table = studyTable(s, studyResults(s)).split('\n');
    const at = table.indexOf(
      "Against `solo`: GLUE task score ×100 (MCC for CoLA, the mean of the task's metrics otherwise); Δ = difference of the means; p = exact two-sided permutation test over the seeds.",
    );
    expect(at).toBe(12);
    expect(table.slice(at + 2)).toEqual([
      '| task | arm | Δ score | p | baseline per seed | arm per seed |',
      '|---|---|---|---|---|---|',
      // RTE 52, 54 vs 50, 60, 70: 5 of the 10 two-value splits are as far apart (p 0.5).
      '| RTE | pipe/no-finetune | -7.00 | 0.500 | s1 50.00, s2 60.00, s3 70.00 | s1 52.00, s2 54.00 |',
      '| RTE | pipe | +5.00 | 0.700 | s1 50.00, s2 60.00, s3 70.00 | s1 60.00, s2 70.00 |',
      // Equal means: every split is at least as extreme, and no −0.00.
      '| RTE | sel | 0.00 | 1.000 | s1 50.00, s2 60.00, s3 70.00 | s1 55.00, s2 65.00 |',
      // MRPC's score is the mean of accuracy and F1.
      '| MRPC | pipe/no-finetune | -9.50 | 0.300 | s1 75.00, s2 82.50, s3 90.00 | s1 70.50, s2 75.50 |',
      '| MRPC | pipe | -7.50 | 0.400 | s1 75.00, s2 82.50, s3 90.00 | s1 75.00, s2 75.00 |',
      '',
    ]);
    // Without a baseline the table ends after the main rows.
    const { s: plain } = fabricate();
    expect(studyTable(plain, studyResults(plain))).not.toContain('Against');
    // A baseline arm that has not run yet: no comparison section (not an empty one).
    const { s: early } = fabricate({ baseline: 'later' });
    expect(studyTable(early, studyResults(early))).toBe(studyTable(plain, studyResults(plain)));
  });
});
