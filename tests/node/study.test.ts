import { afterAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { repoRoot } from '../helpers/shared.ts';
import { parseStudy, type Study } from '../../src/cli/study/studyConfig.ts';
import { armJobs, jobArgs, type StudyJob } from '../../src/cli/study/studyJobs.ts';
import { jobResults, meanStd, studyResults, studyTable } from '../../src/cli/study/studyTable.ts';
import { jobsToRun } from '../../src/cli/study/runStudy.ts';

/** Everything here is pure or reads/writes fabricated files in a temp folder: no child process, no training. */
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
function tempRoot(): string {
  const d = mkdtempSync(join(tmpdir(), 'ts-study-'));
  dirs.push(d);
  return d;
}

const writeJson = (file: string, value: unknown) => {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(value, null, 2)}\n`);
};

const BASE = {
  model: { kind: 'dir', path: '../runs/mlm' },
  data: { kind: 'glue-dir', path: 'glue' },
  optimizer: { kind: 'adamw', lr: 0.0005 },
  epochs: 2,
};

function study(arms: unknown[], extra: Record<string, unknown> = {}) {
  return { name: 'st', seeds: [1, 2], base: BASE, tasks: [{ name: 'RTE', maxTrainRows: 50 }, 'MRPC', 'WNLI', 'CoLA', 'SST-2'], arms, ...extra };
}

// The study file lives at <root>/experiments/studies/st.json; it need not exist for parseStudy.
const ROOT = '/r';
const FILE = '/r/experiments/studies/st.json';
const STUDY_DIR = '/r/experiments/studies';

describe('parseStudy', () => {
  it('resolves outDir relative to the study file (default and explicit)', () => {
    const s = parseStudy(study([{ name: 'a', mode: 'single' }]), FILE);
    expect(s.dir).toBe(STUDY_DIR);
    expect(s.outDir).toBe('/r/runs/studies/st');
    expect(s.about).toBe('');
    expect(s.arms[0].experiment).toEqual({});
    expect(s.arms[0].finetune).toEqual({});
    expect(parseStudy(study([{ name: 'a', mode: 'single' }], { out: 'out/here' }), FILE).outDir).toBe('/r/experiments/studies/out/here');
    expect(parseStudy(study([{ name: 'a', mode: 'single' }], { out: '/abs/out' }), FILE).outDir).toBe('/abs/out');
  });

  it('names the field of a schema error', () => {
    expect(() =>
      parseStudy(
        study([
          { name: 'a', mode: 'single' },
          { name: 'bad name', mode: 'multi' },
        ]),
        FILE,
      ),
    ).toThrow(`${FILE}: invalid study\n  arms.1.name: letters, digits, . _ - only`);
    expect(() => parseStudy(study([{ name: 'a', mode: 'single' }], { seeds: [] }), FILE)).toThrow(
      /^\/r\/experiments\/studies\/st\.json: invalid study\n {2}seeds: /,
    );
    expect(() => parseStudy(study([{ name: 'a', mode: 'twice' }]), FILE)).toThrow(/\n {2}arms\.0\.mode: /);
  });

  it('rejects a baseline that is not an arm', () => {
    expect(() =>
      parseStudy(
        study(
          [
            { name: 'a', mode: 'single' },
            { name: 'b', mode: 'single' },
          ],
          { baseline: 'c' },
        ),
        FILE,
      ),
    ).toThrow(`${FILE}: baseline: c is not one of the arms (a, b)`);
    expect(parseStudy(study([{ name: 'a', mode: 'single' }], { baseline: 'a' }), FILE).baseline).toBe('a');
  });

  it('rejects a duplicate arm and a select arm without selection', () => {
    expect(() =>
      parseStudy(
        study([
          { name: 'a', mode: 'single' },
          { name: 'b', mode: 'multi' },
          { name: 'a', mode: 'multi' },
        ]),
        FILE,
      ),
    ).toThrow(`${FILE}: arms: a is listed twice`);
    expect(() => parseStudy(study([{ name: 's', mode: 'select' }]), FILE)).toThrow(`${FILE}: arm s: mode select needs a "selection" object`);
  });

  it.each(['tasksFrom', 'randomTasksLike', 'importanceFrom'])('%s must name an earlier arm', (key) => {
    const sel = { name: 'sel', mode: 'select', selection: { method: 'gradts-trial', target: 'RTE' } };
    const user = { name: 'user', mode: key === 'importanceFrom' ? 'select' : 'multi', selection: sel.selection };
    // A later arm, an unknown arm and the arm itself are all refused; an earlier one is accepted.
    expect(() => parseStudy(study([{ ...user, [key]: { arm: 'sel' } }, sel]), FILE)).toThrow(`${FILE}: arm user: ${key}.arm sel is not an earlier arm`);
    expect(() => parseStudy(study([sel, { ...user, [key]: { arm: 'nope' } }]), FILE)).toThrow(`${FILE}: arm user: ${key}.arm nope is not an earlier arm`);
    expect(() => parseStudy(study([sel, { ...user, [key]: { arm: 'user' } }]), FILE)).toThrow(`${FILE}: arm user: ${key}.arm user is not an earlier arm`);
    expect(parseStudy(study([sel, { ...user, [key]: { arm: 'sel' } }]), FILE).arms[1][key as 'tasksFrom']).toEqual({ arm: 'sel' });
  });
});

describe('experiments/studies', () => {
  const folder = resolve(repoRoot, 'experiments/studies');
  const files = readdirSync(folder).filter((f) => f.endsWith('.json'));
  it.each(files)('%s parses, and its arms that need no earlier result expand', (f) => {
    const file = join(folder, f);
    const s = parseStudy(JSON.parse(readFileSync(file, 'utf8')), file);
    expect(s.outDir).toBe(resolve(repoRoot, 'runs/studies', s.name));
    for (const arm of s.arms.filter((a) => !a.tasksFrom && !a.randomTasksLike && !a.importanceFrom)) {
      const jobs = armJobs(s, arm);
      const perSeed = arm.mode === 'single' ? (arm.tasks ?? s.tasks).length : 1;
      expect(jobs).toHaveLength((arm.seeds ?? s.seeds).length * perSeed);
    }
  });
});

const absBase = {
  ...BASE,
  model: { kind: 'dir', path: `${ROOT}/experiments/runs/mlm` },
  data: { kind: 'glue-dir', path: `${STUDY_DIR}/glue` },
};

describe('armJobs', () => {
  it('single: one train job per seed × task, paths made absolute, the task entry kept', () => {
    const s = parseStudy(
      study([{ name: 'solo', mode: 'single', tasks: [{ name: 'RTE', maxTrainRows: 50 }, 'MRPC'], experiment: { epochs: 3 } }], { out: '/o' }),
      FILE,
    );
    const jobs = armJobs(s, s.arms[0]);
    expect(jobs.map((j) => [j.task, j.seed, j.dir, j.command])).toEqual([
      ['RTE', 1, '/o/solo/RTE/seed-1', 'train'],
      ['MRPC', 1, '/o/solo/MRPC/seed-1', 'train'],
      ['RTE', 2, '/o/solo/RTE/seed-2', 'train'],
      ['MRPC', 2, '/o/solo/MRPC/seed-2', 'train'],
    ]);
    expect(jobs[0].config).toEqual({ ...absBase, epochs: 3, name: 'st/solo/RTE/seed-1', tasks: [{ name: 'RTE', maxTrainRows: 50 }], seed: 1 });
    expect(jobs[3].config).toEqual({ ...absBase, epochs: 3, name: 'st/solo/MRPC/seed-2', tasks: [{ name: 'MRPC' }], seed: 2 });
  });

  it('keeps absolute paths and only rewrites glue-dir data and dir models', () => {
    const s = parseStudy(
      { ...study([{ name: 'm', mode: 'multi' }]), base: { model: { kind: 'dir', path: '/abs/model' }, data: { kind: 'glue-dir', path: '/abs/glue' } } },
      FILE,
    );
    expect(armJobs(s, s.arms[0])[0].config).toMatchObject({ model: { path: '/abs/model' }, data: { path: '/abs/glue' } });
    const hub = parseStudy(
      { ...study([{ name: 'm', mode: 'multi' }]), base: { model: { kind: 'hub', path: 'rel/x' }, data: { kind: 'other', path: 'rel/y' } } },
      FILE,
    );
    expect(armJobs(hub, hub.arms[0])[0].config).toMatchObject({ model: { kind: 'hub', path: 'rel/x' }, data: { kind: 'other', path: 'rel/y' } });
  });

  it('multi: one job per seed over all tasks; arm seeds override the study seeds', () => {
    const s = parseStudy(study([{ name: 'all', mode: 'multi', seeds: [7, 8, 9] }], { out: '/o' }), FILE);
    const jobs = armJobs(s, s.arms[0]);
    expect(jobs.map((j) => [j.seed, j.task, j.dir, j.command])).toEqual([
      [7, null, '/o/all/seed-7', 'train'],
      [8, null, '/o/all/seed-8', 'train'],
      [9, null, '/o/all/seed-9', 'train'],
    ]);
    expect(jobs[1].config).toEqual({
      ...absBase,
      name: 'st/all/seed-8',
      seed: 8,
      tasks: [{ name: 'RTE', maxTrainRows: 50 }, { name: 'MRPC' }, { name: 'WNLI' }, { name: 'CoLA' }, { name: 'SST-2' }],
    });
  });

  it('pipeline: mtl on the arm tasks, finetune with the arm overrides, the task names and the seed', () => {
    const s = parseStudy(
      study([{ name: 'pipe', mode: 'pipeline', tasks: ['RTE', 'MRPC'], finetune: { epochs: 4, optimizer: { kind: 'adamw', lr: 1e-4 } } }], { out: '/o' }),
      FILE,
    );
    const jobs = armJobs(s, s.arms[0]);
    expect(jobs).toHaveLength(2);
    expect(jobs[1]).toMatchObject({ seed: 2, task: null, dir: '/o/pipe/seed-2', command: 'pipeline' });
    expect(jobs[1].config).toEqual({
      name: 'st/pipe/seed-2',
      mtl: { ...absBase, name: 'st/pipe/seed-2', tasks: [{ name: 'RTE' }, { name: 'MRPC' }], seed: 2 },
      finetune: { epochs: 4, optimizer: { kind: 'adamw', lr: 1e-4 }, tasks: ['RTE', 'MRPC'], seed: 2 },
    });
  });

  it('select: the seed goes into selection.seed and the train and trial stages; other stage settings stay', () => {
    const selection = { method: 'fastmtl', target: 'RTE', num: 500, stages: { td: { epochs: 2 }, train: { epochs: 3, seed: 99 } } };
    const s = parseStudy(study([{ name: 'fm', mode: 'select', selection, seeds: [5] }], { out: '/o' }), FILE);
    const jobs = armJobs(s, s.arms[0]);
    expect(jobs).toHaveLength(1);
    expect(jobs[0]).toMatchObject({ seed: 5, task: null, dir: '/o/fm/seed-5', command: 'select' });
    expect(jobs[0].config).toEqual({
      ...absBase,
      name: 'st/fm/seed-5',
      tasks: [{ name: 'RTE', maxTrainRows: 50 }, { name: 'MRPC' }, { name: 'WNLI' }, { name: 'CoLA' }, { name: 'SST-2' }],
      selection: { method: 'fastmtl', target: 'RTE', num: 500, seed: 5, stages: { td: { epochs: 2 }, train: { epochs: 3, seed: 5 }, trial: { seed: 5 } } },
    });
    // The parsed arm is not mutated by the expansion.
    expect(s.arms[0].selection).toEqual(selection);
  });
});

describe('arms that read an earlier select result', () => {
  const selArm = { name: 'gt', mode: 'select', seeds: [3, 4], selection: { method: 'gradts-trial', target: 'MRPC' } };
  const matrices = {
    RTE: [
      [0.1, 0.2],
      [0.3, 0.4],
    ],
    MRPC: [
      [0.5, 0.6],
      [0.7, 0.8],
    ],
  };

  function withResult(arms: unknown[], seeds: number[]) {
    const out = tempRoot();
    const s = parseStudy(study([selArm, ...arms], { out, seeds }), FILE);
    // The first seed of the source arm (3) unless the reference names one.
    writeJson(join(out, 'gt', 'seed-3', 'result.json'), { target: 'MRPC', chosen: ['WNLI', 'RTE'], reasons: { importance: { matrices } } });
    writeJson(join(out, 'gt', 'seed-4', 'result.json'), { target: 'MRPC', chosen: ['SST-2'], reasons: {} });
    return s;
  }

  it('tasksFrom: tasks are [target, ...chosen] with the study task entries', () => {
    const s = withResult(
      [
        { name: 'chosen', mode: 'multi', tasksFrom: { arm: 'gt' } },
        { name: 'chosen4', mode: 'multi', tasksFrom: { arm: 'gt', seed: 4 } },
      ],
      [1, 2],
    );
    const jobs = armJobs(s, s.arms[1]);
    expect(jobs.map((j) => j.config.tasks)).toEqual([
      [{ name: 'MRPC' }, { name: 'WNLI' }, { name: 'RTE', maxTrainRows: 50 }],
      [{ name: 'MRPC' }, { name: 'WNLI' }, { name: 'RTE', maxTrainRows: 50 }],
    ]);
    expect(armJobs(s, s.arms[2])[0].config.tasks).toEqual([{ name: 'MRPC' }, { name: 'SST-2' }]);
  });

  it('randomTasksLike: as many random candidates as chosen, never the target, fixed per seed, varying over seeds', () => {
    const seeds = [1, 2, 3, 4, 5, 6, 7, 8];
    const s = withResult([{ name: 'rand', mode: 'multi', randomTasksLike: { arm: 'gt' } }], seeds);
    const draws = armJobs(s, s.arms[1]).map((j) => (j.config.tasks as { name: string }[]).map((t) => t.name));
    expect(draws).toHaveLength(seeds.length);
    for (const d of draws) {
      expect(d).toHaveLength(3);
      expect(d[0]).toBe('MRPC');
      expect(new Set(d).size).toBe(3);
      for (const t of d.slice(1)) expect(['RTE', 'WNLI', 'CoLA', 'SST-2']).toContain(t);
    }
    // Same study, same arm, same seed: the same draw (a rerun continues the same comparison).
    const again = armJobs(s, s.arms[1]).map((j) => (j.config.tasks as { name: string }[]).map((t) => t.name));
    expect(again).toEqual(draws);
    expect(new Set(draws.map((d) => d.join('+'))).size).toBeGreaterThan(1);
    // The study task entry of a drawn task is carried over.
    const withRte = armJobs(s, s.arms[1])
      .flatMap((j) => j.config.tasks as { name: string }[])
      .find((t) => t.name === 'RTE');
    if (withRte) expect(withRte).toEqual({ name: 'RTE', maxTrainRows: 50 });
  });

  it('importanceFrom: the source matrices are copied into selection.importance', () => {
    const s = withResult(
      [{ name: 'gt2', mode: 'select', importanceFrom: { arm: 'gt' }, selection: { method: 'gradts-trial', target: 'RTE', maxTrials: 3 } }],
      [1],
    );
    const [job] = armJobs(s, s.arms[1]);
    expect(job.config.selection).toEqual({
      method: 'gradts-trial',
      target: 'RTE',
      maxTrials: 3,
      importance: matrices,
      seed: 1,
      stages: { train: { seed: 1 }, trial: { seed: 1 } },
    });
  });

  it('a missing result.json says which arm to run first', () => {
    const out = tempRoot();
    const s = parseStudy(
      study([selArm, { name: 'chosen', mode: 'multi', tasksFrom: { arm: 'gt' } }, { name: 'rand', mode: 'multi', randomTasksLike: { arm: 'gt', seed: 4 } }], {
        out,
      }),
      FILE,
    );
    expect(() => armJobs(s, s.arms[1])).toThrow(`arm chosen: ${join(out, 'gt', 'seed-3', 'result.json')} does not exist yet (run arm gt first)`);
    expect(() => armJobs(s, s.arms[2])).toThrow(`arm rand: ${join(out, 'gt', 'seed-4', 'result.json')} does not exist yet (run arm gt first)`);
  });
});

describe('jobArgs', () => {
  const arms = [
    { name: 'solo', mode: 'single', tasks: ['RTE'] },
    { name: 'pipe', mode: 'pipeline' },
    { name: 'sel', mode: 'select', selection: { method: 'random', target: 'RTE', num: 10 } },
  ];
  const firstJobs = (s: Study) => s.arms.map((a) => armJobs(s, a)[0]);

  it('gives the exact argv of each command, vocab resolved against the study folder', () => {
    const s = parseStudy(study(arms, { out: '/o', vocab: '../../assets/vocab' }), FILE);
    const [train, pipe, sel] = firstJobs(s);
    const common = ['--config', '/o/x/config.json', '--backend', 'wasm', '--cache', '/o/.shards', '--vocab', '/r/assets/vocab'];
    expect(jobArgs(train, '/o/x/config.json', s, '/o/.shards')).toEqual(['train', ...common, '--out', '/o/solo/RTE/seed-1/run', '--no-progress']);
    expect(jobArgs(pipe, '/o/x/config.json', s, '/o/.shards')).toEqual(['pipeline', ...common, '--out', '/o/pipe/seed-1/run']);
    expect(jobArgs(sel, '/o/x/config.json', s, '/o/.shards')).toEqual([
      'select',
      '--method',
      'random',
      '--target',
      'RTE',
      ...common,
      '--out',
      '/o/sel/seed-1/result.json',
    ]);
  });

  it('keeps an absolute vocab and leaves --vocab out when the study has none', () => {
    const abs = parseStudy(study(arms, { out: '/o', vocab: '/v/bert' }), FILE);
    expect(jobArgs(firstJobs(abs)[0], '/c.json', abs, '/cache')).toEqual([
      'train',
      '--config',
      '/c.json',
      '--backend',
      'wasm',
      '--cache',
      '/cache',
      '--vocab',
      '/v/bert',
      '--out',
      '/o/solo/RTE/seed-1/run',
      '--no-progress',
    ]);
    const none = parseStudy(study(arms, { out: '/o' }), FILE);
    expect(jobArgs(firstJobs(none)[1], '/c.json', none, '/cache')).toEqual([
      'pipeline',
      '--config',
      '/c.json',
      '--backend',
      'wasm',
      '--cache',
      '/cache',
      '--out',
      '/o/pipe/seed-1/run',
    ]);
  });
});

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
