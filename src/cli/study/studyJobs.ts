import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Rng } from '../../engine/runtime/rng.ts';
import { absolutePaths, taskEntry, type Study, type StudyArm } from './studyConfig.ts';

/** One CLI run of a study: its folder holds config.json, cli.log, run/ (or result.json) and done.json. */
export interface StudyJob {
  arm: StudyArm;
  seed: number;
  /** The task of a single-task run; null for runs over all the arm's tasks. */
  task: string | null;
  dir: string;
  command: 'train' | 'pipeline' | 'select' | 'prune';
  config: Record<string, unknown>;
}

const safe = (s: string) => s.replace(/[^\w.-]+/g, '_');

interface SelectionFile {
  target: string;
  chosen: string[];
  reasons?: { importance?: { matrices?: Record<string, number[][]> } };
}

/** The result.json of an earlier select arm (its first seed unless `ref.seed`; "same" = the reading run's `seed`). */
function selectionOf(study: Study, arm: StudyArm, ref: { arm: string; seed?: number | 'same' }, seed: number): SelectionFile {
  const from = study.arms.find((a) => a.name === ref.arm)!;
  const file = join(study.outDir, from.name, `seed-${ref.seed === 'same' ? seed : (ref.seed ?? (from.seeds ?? study.seeds)[0])}`, 'result.json');
  if (!existsSync(file)) throw new Error(`arm ${arm.name}: ${file} does not exist yet (run arm ${from.name} first)`);
  return JSON.parse(readFileSync(file, 'utf8')) as SelectionFile;
}

function armTasks(study: Study, arm: StudyArm, seed: number): Record<string, unknown>[] {
  const all = (arm.tasks ?? study.tasks).map(taskEntry);
  const pick = (n: string) => all.find((t) => t.name === n) ?? { name: n };
  if (arm.tasksFrom) {
    const r = selectionOf(study, arm, arm.tasksFrom, seed);
    return [r.target, ...r.chosen].map(pick);
  }
  if (arm.randomTasksLike) {
    const r = selectionOf(study, arm, arm.randomTasksLike, seed);
    const candidates = all.map((t) => t.name).filter((n) => n !== r.target);
    const drawn = new Rng(`${study.name}/${arm.name}/${seed}`).shuffle(candidates).slice(0, r.chosen.length);
    return [r.target, ...drawn].map(pick);
  }
  return all;
}

/** The jobs of one arm, in seed-major order. */
export function armJobs(study: Study, arm: StudyArm): StudyJob[] {
  const base = absolutePaths({ ...study.base, ...arm.experiment }, study.dir);
  const jobs: StudyJob[] = [];
  for (const seed of arm.seeds ?? study.seeds) {
    const tasks = armTasks(study, arm, seed);
    const name = `${study.name}/${arm.name}`;
    if (arm.mode === 'prune') {
      for (const t of tasks) {
        const task = t.name as string;
        jobs.push({
          arm,
          seed,
          task,
          dir: join(study.outDir, arm.name, safe(task), `seed-${seed}`),
          command: 'prune',
          config: { model: join(study.outDir, arm.modelFrom!.arm, safe(task), `seed-${seed}`, 'run', 'checkpoint'), task, seed, ...arm.prune },
        });
      }
      continue;
    }
    if (arm.mode === 'single') {
      for (const t of tasks) {
        jobs.push({
          arm,
          seed,
          task: t.name as string,
          dir: join(study.outDir, arm.name, safe(t.name as string), `seed-${seed}`),
          command: 'train',
          config: { ...base, name: `${name}/${t.name}/seed-${seed}`, tasks: [t], seed },
        });
      }
      continue;
    }
    const dir = join(study.outDir, arm.name, `seed-${seed}`);
    if (arm.mode === 'multi') {
      jobs.push({ arm, seed, task: null, dir, command: 'train', config: { ...base, name: `${name}/seed-${seed}`, tasks, seed } });
    } else if (arm.mode === 'pipeline') {
      jobs.push({
        arm,
        seed,
        task: null,
        dir,
        command: 'pipeline',
        config: {
          name: `${name}/seed-${seed}`,
          mtl: { ...base, name: `${name}/seed-${seed}`, tasks, seed },
          finetune: { ...arm.finetune, tasks: tasks.map((t) => t.name), seed },
        },
      });
    } else {
      const sel = { ...arm.selection };
      if (arm.importanceFrom) sel.importance = selectionOf(study, arm, arm.importanceFrom, seed).reasons?.importance?.matrices;
      if (arm.trialSelectionFrom) sel.trialSelection = selectionOf(study, arm, arm.trialSelectionFrom, seed).chosen;
      const stages = (sel.stages ?? {}) as Record<string, Record<string, unknown>>;
      const everyStage = arm.seedAllStages ? { tune: { ...(stages.tune ?? {}), seed } } : {};
      if (arm.seedAllStages && sel.tdSeed === undefined) sel.tdSeed = 200 + seed; // FastMTL's own seeds are 200 + s
      jobs.push({
        arm,
        seed,
        task: null,
        dir,
        command: 'select',
        config: {
          ...base,
          name: `${name}/seed-${seed}`,
          tasks,
          // The top-level seed draws generated data and orders rows, as in train jobs; the stages keep their own.
          seed,
          selection: { ...sel, seed, stages: { ...stages, ...everyStage, train: { ...(stages.train ?? {}), seed }, trial: { ...(stages.trial ?? {}), seed } } },
        },
      });
    }
  }
  return jobs;
}

/** Arguments of `bin/taskscope.mjs` for a job whose config was written to `configFile`. */
export function jobArgs(job: StudyJob, configFile: string, study: Study, cache: string): string[] {
  const vocab = study.vocab ? ['--vocab', resolve(study.dir, study.vocab)] : [];
  const common = ['--config', configFile, '--backend', 'wasm', '--cache', cache, ...vocab];
  switch (job.command) {
    case 'train':
      return ['train', ...common, '--out', join(job.dir, 'run'), '--no-progress'];
    case 'pipeline':
      return ['pipeline', ...common, '--out', join(job.dir, 'run')];
    case 'prune': {
      const c = job.config as { model: string; task: string; seed: number; importanceRows?: number; randomOrders?: number; fractions?: number[] };
      return [
        'prune',
        '--model',
        c.model,
        '--task',
        c.task,
        '--backend',
        'wasm',
        '--cache',
        cache,
        '--seed',
        String(c.seed),
        '--out',
        join(job.dir, 'result.json'),
        ...(c.importanceRows !== undefined ? ['--importance-rows', String(c.importanceRows)] : []),
        ...(c.randomOrders !== undefined ? ['--random-orders', String(c.randomOrders)] : []),
        ...(c.fractions ? ['--fractions', c.fractions.join(',')] : []),
      ];
    }
    case 'select': {
      const sel = job.config.selection as { method: string; target: string };
      return ['select', '--method', sel.method, '--target', sel.target, ...common, '--out', join(job.dir, 'result.json')];
    }
  }
}
