import { spawn, type ChildProcess } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fixtureModelDir, glueDir, repoRoot } from '../../helpers/shared.ts';

/** WNLI, 64 training rows, batch 8: 8 steps an epoch; a checkpoint every 4 steps (random-tiny model, cpu). */
export function wnliExperiment(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: 'wnli-fault',
    tasks: [{ name: 'WNLI', maxTrainRows: 64 }],
    model: { kind: 'dir', path: fixtureModelDir('random-tiny') },
    data: { kind: 'glue-dir', path: glueDir },
    epochs: 2,
    batchSize: 8,
    evalBatchSize: 64,
    maxLength: 32,
    seed: 5,
    checkpointEvery: 4,
    ...over,
  };
}

export async function writeConfig(dir: string, name: string, exp: Record<string, unknown>): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, JSON.stringify(exp));
  return path;
}

export interface Child {
  proc: ChildProcess;
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
}

/** `taskscope train` in a child process (the real CLI entry). */
export function spawnTrain(args: string[]): Child {
  const proc = spawn(process.execPath, [resolve(repoRoot, 'bin/taskscope.mjs'), 'train', '--backend', 'cpu', '--no-progress', ...args], {
    cwd: repoRoot,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  proc.stderr!.on('data', (d) => (stderr += d));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((res) =>
    proc.on('close', (code, signal) => res({ code, signal, stderr })),
  );
  return { proc, done };
}

/** Polls a file until `test` holds for its text (the child's log), up to `ms`. */
export async function waitForFile(path: string, test: (text: string) => boolean, ms = 120_000): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    const text = await readFile(path, 'utf8').catch(() => '');
    if (test(text)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting on ${path}`);
}

export async function logLines(out: string): Promise<Record<string, unknown>[]> {
  return (await readFile(join(out, 'log.jsonl'), 'utf8'))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}
