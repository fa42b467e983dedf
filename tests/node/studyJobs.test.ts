import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { parseStudy, type Study } from '../../src/cli/study/studyConfig.ts';
import { armJobs, jobArgs } from '../../src/cli/study/studyJobs.ts';
import { FILE, absBase, study, tempRoot, writeJson } from '../helpers/studyFixtures.ts';

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

  it('select: the seed is the data seed and goes into selection.seed and the train and trial stages; other stage settings stay', () => {
    const selection = { method: 'fastmtl', target: 'RTE', num: 500, stages: { td: { epochs: 2 }, train: { epochs: 3, seed: 99 } } };
    const s = parseStudy(study([{ name: 'fm', mode: 'select', selection, seeds: [5] }], { out: '/o' }), FILE);
    const jobs = armJobs(s, s.arms[0]);
    expect(jobs).toHaveLength(1);
    expect(jobs[0]).toMatchObject({ seed: 5, task: null, dir: '/o/fm/seed-5', command: 'select' });
    expect(jobs[0].config).toEqual({
      ...absBase,
      name: 'st/fm/seed-5',
      tasks: [{ name: 'RTE', maxTrainRows: 50 }, { name: 'MRPC' }, { name: 'WNLI' }, { name: 'CoLA' }, { name: 'SST-2' }],
      seed: 5,
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

  it('trialSelectionFrom: a gradts-fg arm filters the rows of the tasks the trial arm chose (with its matrices)', () => {
    const s = withResult(
      [
        {
          name: 'fg',
          mode: 'select',
          importanceFrom: { arm: 'gt' },
          trialSelectionFrom: { arm: 'gt', seed: 4 },
          selection: { method: 'gradts-fg', target: 'MRPC' },
        },
      ],
      [2],
    );
    const [job] = armJobs(s, s.arms[1]);
    expect(job.config.selection).toEqual({
      method: 'gradts-fg',
      target: 'MRPC',
      importance: matrices,
      trialSelection: ['SST-2'],
      seed: 2,
      stages: { train: { seed: 2 }, trial: { seed: 2 } },
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
