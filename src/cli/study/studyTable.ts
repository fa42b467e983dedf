import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { armJobs, type StudyJob } from './studyJobs.ts';
import { readDone } from './runStudy.ts';
import type { Study } from './studyConfig.ts';
import { permutationPValue } from '../../engine/metrics/permutationTest.ts';
import { taskScoreOf } from '../../engine/train/evaluate.ts';
import { taskSpecFromRegistry, type TaskSpec } from '../../engine/model/taskSpec.ts';

/** One task's dev result in one finished run. */
export interface RunResult {
  arm: string;
  seed: number;
  task: string;
  metrics: Record<string, number>;
  /** Training examples per second (forward + backward) of the run's training, when logged. */
  examplesPerSec: number | null;
  wallSeconds: number;
  /** Selection runs: what was chosen and what choosing cost. */
  chosen?: string[];
  selectionSeconds?: number;
  auxExamples?: number;
}

interface Evaluation {
  tasks: { task: string; metrics: Record<string, number> }[];
}

const readJson = <T>(f: string): T => JSON.parse(readFileSync(f, 'utf8')) as T;

function lastRate(logFile: string): number | null {
  if (!existsSync(logFile)) return null;
  // The pipeline writes an empty log for a unit that took no step (resumed at its end).
  const lines = readFileSync(logFile, 'utf8')
    .trim()
    .split('\n')
    .filter((l) => l !== '')
    .reverse();
  for (const l of lines) {
    const e = JSON.parse(l) as { type?: string; examplesPerSec?: number };
    if (e.type === 'step' && typeof e.examplesPerSec === 'number') return e.examplesPerSec;
  }
  return null;
}

function fromEvaluation(job: StudyJob, arm: string, ev: Evaluation, rate: number | null, wall: number): RunResult[] {
  return ev.tasks.map((t) => ({ arm, seed: job.seed, task: t.task, metrics: t.metrics, examplesPerSec: rate, wallSeconds: wall }));
}

/** Every task result of a finished job (a pipeline also yields its multi-task model before fine-tuning, as `<arm>/no-finetune`). */
export function jobResults(job: StudyJob): RunResult[] {
  const done = readDone(job);
  if (!done || done.exitCode !== 0) return [];
  const run = join(job.dir, 'run');
  const arm = job.arm.name;
  switch (job.command) {
    case 'train': {
      const m = readJson<{ evaluation?: Evaluation }>(join(run, 'metrics.json'));
      return m.evaluation ? fromEvaluation(job, arm, m.evaluation, lastRate(join(run, 'log.jsonl')), done.wallSeconds) : [];
    }
    case 'pipeline': {
      const out = fromEvaluation(
        job,
        `${arm}/no-finetune`,
        readJson<Evaluation>(join(run, 'mtl', 'metrics.json')),
        lastRate(join(run, 'mtl', 'log.jsonl')),
        done.wallSeconds,
      );
      for (const t of (job.config.finetune as { tasks: string[] }).tasks) {
        out.push(
          ...fromEvaluation(
            job,
            arm,
            readJson<Evaluation>(join(run, 'finetune', t, 'metrics.json')),
            lastRate(join(run, 'finetune', t, 'log.jsonl')),
            done.wallSeconds,
          ),
        );
      }
      return out;
    }
    case 'prune':
      return []; // pruning curves are tabulated by the planted-relations report
    case 'select': {
      const r = readJson<{
        target: string;
        chosen: string[];
        examples?: Record<string, string[]>;
        wallSeconds: number;
        training?: { last: Record<string, number>; wallSeconds: number; examplesProcessed: number };
      }>(join(job.dir, 'result.json'));
      if (!r.training) return [];
      const aux = r.examples ? Object.values(r.examples).reduce((n, e) => n + e.length, 0) : undefined;
      return [
        {
          arm,
          seed: job.seed,
          task: r.target,
          metrics: r.training.last,
          examplesPerSec: r.training.examplesProcessed / r.training.wallSeconds,
          wallSeconds: done.wallSeconds,
          chosen: r.chosen,
          selectionSeconds: r.wallSeconds,
          auxExamples: aux,
        },
      ];
    }
  }
}

export function studyResults(study: Study): RunResult[] {
  const out: RunResult[] = [];
  for (const arm of study.arms) {
    let jobs: StudyJob[];
    try {
      jobs = armJobs(study, arm);
    } catch {
      continue;
    } // a tasksFrom arm whose source has not run
    for (const j of jobs) out.push(...jobResults(j));
  }
  return out;
}

export function meanStd(xs: number[]): { mean: number; std: number } {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const std = xs.length > 1 ? Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (xs.length - 1)) : 0;
  return { mean, std };
}

const pct = (x: { mean: number; std: number }) => `${(100 * x.mean).toFixed(2)} ± ${(100 * x.std).toFixed(2)}`;

/** Markdown: one row per arm × task, each metric as mean ± sample std over seeds (×100), n seeds, speed, wall time. */
export function studyTable(study: Study, results: RunResult[]): string {
  const tasks = [...new Set(results.map((r) => r.task))];
  const arms = [...new Set(results.map((r) => r.arm))];
  const lines = [
    `Study \`${study.name}\`: dev metrics ×100, mean ± sample std over seeds (n); examples/s = training rows through forward+backward per second; wall = whole CLI run.`,
    '',
    '| task | arm | metrics | n | examples/s | wall s (mean) | chosen |',
    '|---|---|---|---|---|---|---|',
  ];
  for (const task of tasks) {
    for (const arm of arms) {
      const rs = results.filter((r) => r.arm === arm && r.task === task);
      if (rs.length === 0) continue;
      const names = Object.keys(rs[0].metrics);
      const metrics = names.map((m) => `${m} ${pct(meanStd(rs.map((r) => r.metrics[m])))}`).join('; ');
      const rates = rs.map((r) => r.examplesPerSec).filter((x): x is number => x !== null);
      const rate = rates.length ? meanStd(rates).mean.toFixed(1) : '–';
      const chosen = rs.some((r) => r.chosen)
        ? rs.map((r) => `s${r.seed}: ${r.chosen!.join('+') || '∅'}${r.auxExamples !== undefined ? ` (${r.auxExamples} ex)` : ''}`).join('; ')
        : '';
      lines.push(`| ${task} | ${arm} | ${metrics} | ${rs.length} | ${rate} | ${meanStd(rs.map((r) => r.wallSeconds)).mean.toFixed(0)} | ${chosen} |`);
    }
  }
  const against = study.baseline === undefined ? [] : baselineLines(study.baseline, tasks, arms, results);
  if (against.length > 0) lines.push('', ...against);
  return `${lines.join('\n')}\n`;
}

/** GLUE's score of one task from its metrics (MCC alone for CoLA, the mean of the rest); null for a task outside the registry. */
export function taskScore(task: string, metrics: Record<string, number>): number | null {
  let spec: TaskSpec;
  try {
    spec = taskSpecFromRegistry(task);
  } catch {
    return null;
  }
  const score = taskScoreOf(spec, metrics);
  return Number.isNaN(score) ? null : score;
}

/**
 * Each arm against the baseline arm, task by task: the difference of mean task scores, the exact permutation
 * p over the seeds (so that "beats" means more than a higher mean), and every seed's score.
 */
function baselineLines(baseline: string, tasks: string[], arms: string[], results: RunResult[]): string[] {
  const rows: string[] = [];
  const scored = (arm: string, task: string) =>
    results
      .filter((r) => r.arm === arm && r.task === task)
      .map((r) => ({ seed: r.seed, score: taskScore(task, r.metrics) }))
      .filter((r): r is { seed: number; score: number } => r.score !== null)
      .sort((x, y) => x.seed - y.seed);
  const perSeed = (rs: { seed: number; score: number }[]) => rs.map((r) => `s${r.seed} ${(100 * r.score).toFixed(2)}`).join(', ');
  for (const task of tasks) {
    const base = scored(baseline, task);
    if (base.length === 0) continue;
    for (const arm of arms) {
      const rs = scored(arm, task);
      if (arm === baseline || rs.length === 0) continue;
      const a = rs.map((r) => r.score);
      const b = base.map((r) => r.score);
      // Rounding can leave −0.00 for equal means.
      const delta = (100 * (meanStd(a).mean - meanStd(b).mean)).toFixed(2).replace(/^-(0\.00)$/, '$1');
      let p: string;
      try {
        p = permutationPValue(a, b).toFixed(3);
      } catch {
        p = '–';
      }
      rows.push(`| ${task} | ${arm} | ${delta.startsWith('-') || delta === '0.00' ? '' : '+'}${delta} | ${p} | ${perSeed(base)} | ${perSeed(rs)} |`);
    }
  }
  if (rows.length === 0) return [];
  return [
    `Against \`${baseline}\`: GLUE task score ×100 (MCC for CoLA, the mean of the task's metrics otherwise); Δ = difference of the means; p = exact two-sided permutation test over the seeds.`,
    '',
    '| task | arm | Δ score | p | baseline per seed | arm per seed |',
    '|---|---|---|---|---|---|',
    ...rows,
  ];
}
