import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtureModelDir } from '../helpers/shared.ts';
import { runPipelineCli } from '../../src/cli/commands/pipeline.ts';
import { registerPretrainCommand } from '../../src/cli/commands/pretrain.ts';
import { runTrainCli } from '../../src/cli/commands/train.ts';
import { acquireFileLock } from '../../src/engine/platform/node/nodeFileLock.ts';
import { wnliExperiment, writeConfig } from './helpers/cliRun.ts';

/*
 * `pretrain --out` and `pipeline --out` have one writer, as `train --out` does: two writers on one folder (here
 * two runs started together in this process) leave one running and refuse the other naming it; a lock left by
 * a dead process is taken over; a lock of another host is never taken over and its message says what to do.
 */

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'taskscope-locks-'));
});
afterAll(() => rm(tmp, { recursive: true, force: true }));

/** The lock of a process that no longer runs (pid 2^22 + 1 is above Linux's pid_max). */
const deadLock = (purpose: string, host = hostname()) =>
  JSON.stringify({ pid: 4194305, host, writer: '4194305-deadbeef', since: '2026-01-01T00:00:00.000Z', purpose });

/** Resolves once `<out>/.lock` holds its owner (so a second writer sees a complete lock, not one being written). */
async function lockWritten(out: string): Promise<void> {
  for (;;) {
    if ((await readFile(join(out, '.lock'), 'utf8').catch(() => '')).endsWith('}\n')) return;
    await new Promise((r) => setTimeout(r, 2));
  }
}

const inUse = (out: string, purpose: string) =>
  new RegExp(
    `^--out ${out} is in use: ${out}/\\.lock: in use by ${purpose} \\(pid ${process.pid} on ${hostname().replaceAll('.', '\\.')}, since [0-9T:.Z-]+\\); wait for it to finish or stop it$`,
  );

/** Runs two writers on one folder, the second once the first holds the lock; returns their outcomes. */
async function twoWriters(out: string, start: () => Promise<unknown>): Promise<[PromiseSettledResult<unknown>, PromiseSettledResult<unknown>]> {
  const first = start();
  await lockWritten(out);
  const second = start();
  const [a, b] = await Promise.allSettled([first, second]);
  return [a, b];
}

describe('pretrain --out: one writer', () => {
  const glue = () => join(tmp, 'glue');
  const pretrain = async (out: string, notes: string[] = []) => {
    const program = new Command('taskscope').exitOverride();
    registerPretrainCommand(program);
    const args = ['--glue', glue(), '--vocab', fixtureModelDir('random-tiny'), '--out', out, '--backend', 'cpu'];
    const small = ['--layers', '1', '--hidden', '32', '--heads', '2', '--intermediate', '64', '--max-len', '16', '--batch-size', '4', '--held-out', '3'];
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: string) => (notes.push(String(chunk).trimEnd()), true)) as typeof process.stderr.write;
    try {
      await program.parseAsync(['node', 'taskscope', 'pretrain', ...args, ...small, '--steps', '4', '--save-every', '2']);
    } finally {
      process.stderr.write = write;
    }
  };
  beforeAll(async () => {
    await mkdir(join(glue(), 'CoLA'), { recursive: true });
    const lines = Array.from({ length: 40 }, (_, i) => `src\t1\t\tthe cat sat on the mat ${i} times .`);
    await writeFile(join(glue(), 'CoLA/train.tsv'), `${lines.join('\n')}\n`);
  });

  it('two pretrain runs on one --out: the second is refused naming the first, which finishes', async () => {
    const out = join(tmp, 'pretrain-two');
    const [a, b] = await twoWriters(out, () => pretrain(out));
    expect(a.status).toBe('fulfilled');
    expect(b.status).toBe('rejected');
    expect(((b as PromiseRejectedResult).reason as Error).message).toMatch(inUse(out, 'taskscope pretrain'));
    expect(JSON.parse(await readFile(join(out, 'pretrain_state.json'), 'utf8')).step).toBe(4);
    expect(await readdir(out)).not.toContain('.lock');
  });

  it('a lock left by a dead process on this host is taken over', async () => {
    const out = join(tmp, 'pretrain-stale');
    await mkdir(out, { recursive: true });
    await writeFile(join(out, '.lock'), deadLock('taskscope pretrain'));
    const notes: string[] = [];
    await pretrain(out, notes);
    expect(notes[0]).toBe(`${out}: took over the lock of pid 4194305 on ${hostname()}, which no longer runs`);
    expect(await readdir(out)).not.toContain('.lock');
  });
});

describe('pipeline --out: one writer', () => {
  let config: string;
  beforeAll(async () => {
    config = join(tmp, 'pipeline.json');
    const mtl = wnliExperiment({ name: 'lock-pipeline', epochs: 1, checkpointEvery: undefined });
    await writeFile(config, JSON.stringify({ mtl, finetune: { tasks: ['WNLI'], epochs: 1 } }));
  });
  const pipeline = (out: string, notes: string[] = []) =>
    runPipelineCli({ config, out, backend: 'cpu', cache: join(tmp, 'cache'), until: 'mtl' }, (l) => notes.push(l));

  it('two pipeline runs on one --out: the second is refused naming the first, which finishes', async () => {
    const out = join(tmp, 'pipeline-two');
    const notes: string[] = [];
    const [a, b] = await twoWriters(out, () => pipeline(out, notes));
    expect(a.status).toBe('fulfilled');
    expect(b.status).toBe('rejected');
    expect(((b as PromiseRejectedResult).reason as Error).message).toMatch(inUse(out, 'taskscope pipeline'));
    expect(notes.filter((l) => l.startsWith('done:'))).toEqual(['done: ran mtl']);
    expect(await readdir(out)).not.toContain('.lock');
  });

  it('a lock left by a dead process on this host is taken over', async () => {
    const out = join(tmp, 'pipeline-two');
    await writeFile(join(out, '.lock'), deadLock('taskscope pipeline'));
    const notes: string[] = [];
    await pipeline(out, notes);
    expect(notes).toContain(`${out}: took over the lock of pid 4194305 on ${hostname()}, which no longer runs`);
    expect(notes.at(-1)).toBe('done: ran nothing; already complete: mtl');
    expect(await readdir(out)).not.toContain('.lock');
  });
});

describe("another host's lock", () => {
  it('is never taken over; the message names the host and pid and says which file to remove if that process is gone', async () => {
    const out = join(tmp, 'other-host');
    await mkdir(out, { recursive: true });
    const lock = join(out, '.lock');
    await writeFile(lock, deadLock('taskscope train', 'build-node-7'));
    const config = await writeConfig(tmp, 'exp.json', wnliExperiment());
    await expect(runTrainCli({ config, out, backend: 'cpu', cache: join(tmp, 'cache'), progress: false }, () => undefined)).rejects.toThrow(
      new Error(
        `--out ${out} is in use: ${lock}: in use by taskscope train (pid 4194305 on build-node-7, since 2026-01-01T00:00:00.000Z); that host is not this one (${hostname()}), so whether pid 4194305 still runs cannot be checked from here: wait for it to finish, or, if that process is known to be gone, remove ${lock} and run again`,
      ),
    );
    await expect(acquireFileLock(lock, { purpose: 'taskscope pretrain' })).rejects.toThrow(`${lock}: in use by taskscope train (pid 4194305 on build-node-7`);
    expect(JSON.parse(await readFile(lock, 'utf8')).host).toBe('build-node-7');
  });
});
