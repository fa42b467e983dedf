import { spawn } from 'node:child_process';
import { createWriteStream, existsSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { cliEntry } from '../packageRoot.ts';
import { armJobs, jobArgs, type StudyJob } from './studyJobs.ts';
import type { Study } from './studyConfig.ts';

const CLI = cliEntry();

export interface DoneRecord {
  exitCode: number;
  wallSeconds: number;
  finishedAt: string;
  args: string[];
}

export function readDone(job: StudyJob): DoneRecord | null {
  const f = join(job.dir, 'done.json');
  return existsSync(f) ? (JSON.parse(readFileSync(f, 'utf8')) as DoneRecord) : null;
}

/** Runs one job as a child process (its own tfjs, one core); the wall time includes loading data and model. */
async function runJob(job: StudyJob, study: Study, cache: string): Promise<DoneRecord> {
  await mkdir(job.dir, { recursive: true });
  const configFile = join(job.dir, 'config.json');
  await writeFile(configFile, `${JSON.stringify(job.config, null, 2)}\n`);
  const args = jobArgs(job, configFile, study, cache);
  const log = createWriteStream(join(job.dir, 'cli.log'), { flags: 'a' });
  const started = Date.now();
  const exitCode = await new Promise<number>((done, fail) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.pipe(log, { end: false });
    child.stderr.pipe(log, { end: false });
    child.on('error', fail);
    child.on('close', (code) => done(code ?? 1));
  });
  log.end();
  const rec: DoneRecord = { exitCode, wallSeconds: (Date.now() - started) / 1000, finishedAt: new Date().toISOString(), args };
  await writeFile(join(job.dir, 'done.json'), `${JSON.stringify(rec, null, 2)}\n`);
  return rec;
}

/**
 * The jobs still to run: not finished successfully and, with `tasks`, only single-task runs of those tasks
 * (a run over several tasks together is not split, so it waits for a run without the filter).
 */
export function jobsToRun(jobs: StudyJob[], tasks?: readonly string[]): StudyJob[] {
  return jobs.filter((j) => readDone(j)?.exitCode !== 0 && (!tasks || (j.task !== null && tasks.includes(j.task))));
}

/**
 * Runs the arms in order (a later arm may read an earlier one's selection), each arm's jobs `parallel` at a
 * time; a job with a successful done.json is skipped, so running the study again continues it.
 */
export async function runStudy(study: Study, opts: { parallel: number; arms?: string[]; tasks?: string[]; note: (line: string) => void }): Promise<number> {
  const cache = join(study.outDir, '.shards');
  let failures = 0;
  for (const arm of study.arms) {
    if (opts.arms && !opts.arms.includes(arm.name)) continue;
    let jobs: StudyJob[];
    try {
      jobs = armJobs(study, arm);
    } catch (e) {
      // An arm that reads an earlier arm's selection cannot run when that selection failed; the others still can.
      opts.note(`SKIPPED arm ${arm.name}: ${(e as Error).message}`);
      failures++;
      continue;
    }
    const todo = jobsToRun(jobs, opts.tasks);
    let next = 0;
    const worker = async (limit = Infinity) => {
      for (let n = 0; n < limit && next < todo.length; n++) {
        const job = todo[next++];
        const label = `${arm.name} ${job.task ?? ''} seed ${job.seed}`.replace(/\s+/g, ' ');
        opts.note(`start ${label}`);
        const rec = await runJob(job, study, cache);
        if (rec.exitCode !== 0) failures++;
        opts.note(
          `${rec.exitCode === 0 ? 'done ' : `FAILED (exit ${rec.exitCode}, see ${join(job.dir, 'cli.log')})`} ${label} in ${rec.wallSeconds.toFixed(0)} s`,
        );
      }
    };
    // The first run alone: it tokenizes the arm's tasks into the shared shard cache the others then read.
    if (todo.length > 0) await worker(1);
    await Promise.all(Array.from({ length: opts.parallel }, () => worker()));
  }
  return failures;
}
