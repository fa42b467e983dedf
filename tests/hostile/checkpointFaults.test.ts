import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/shared.ts';
import { FolderTrainStateStore, nodeStateFs } from '../../src/engine/platform/node/folderTrainStateStore.ts';
import { encodeTrainState, type StoredTrainState } from '../../src/engine/train/trainState.ts';
import type { Trainer } from '../../src/engine/train/trainer.ts';
import { useCpu } from './helpers/childBackend.ts';
import { dyingFs, faultTrainer } from './helpers/tinyRun.ts';

class Killed extends Error {}

let tmp: string;
let reference: { tensors: Buffer; step: number };
let opsOfRun: string[];
beforeAll(async () => {
  await useCpu();
  tmp = await mkdtemp(join(tmpdir(), 'taskscope-faults-'));
  // The uninterrupted run, through the same store, recording every file operation its saves make.
  const fs = dyingFs(nodeStateFs, 0, 'before', () => {
    throw new Killed();
  });
  const t = faultTrainer(new FolderTrainStateStore(join(tmp, 'reference'), fs));
  expect((await t.run()).status).toBe('done');
  reference = await finalOf(t);
  opsOfRun = fs.log.map((l) => l.replaceAll(join(tmp, 'reference'), '<dir>'));
  dispose(t);
});
afterAll(() => rm(tmp, { recursive: true, force: true }));

async function finalOf(t: Trainer): Promise<{ tensors: Buffer; step: number }> {
  const s: StoredTrainState = encodeTrainState(await t.getState());
  return { tensors: Buffer.from(s.tensors), step: t.step };
}

function dispose(t: Trainer): void {
  t.dispose();
  t.model.dispose();
}

/** Resumes `dir` in a new trainer (as a new process would), runs it to the end, and checks it against the reference. */
async function resumeAndCheck(dir: string, expectedResumeStep: number): Promise<void> {
  const store = new FolderTrainStateStore(dir);
  const t = faultTrainer(store);
  try {
    const restored = await t.restoreFromStore();
    expect(restored ? t.step : 0).toBe(expectedResumeStep);
    expect((await t.run()).status).toBe('done');
    const f = await finalOf(t);
    expect(f.step).toBe(reference.step);
    expect(f.tensors.equals(reference.tensors)).toBe(true); // bit for bit: model and optimiser slots
  } finally {
    dispose(t);
  }
  // What the cut save left was removed: the pointer and one checkpoint folder.
  const left = (await readdir(dir)).sort();
  expect(left.length).toBe(2);
  expect(left[0]).toBe('CURRENT');
  expect(left[1]).toMatch(/^ckpt-000000008-\d+-[0-9a-f]{8}$/);
}

/** The step of the last save whose pointer rename had happened, from the operations done before the kill. */
function lastCompleteStep(log: string[]): number {
  let pending = 0;
  let done = 0;
  for (const op of log) {
    const w = /^write .*CURRENT\.tmp-\S+ = ckpt-(\d+)-/.exec(op);
    if (w) pending = Number(w[1]);
    if (/^rename .*CURRENT\.tmp-\S+ -> .*CURRENT$/.test(op)) done = pending;
  }
  return done;
}

describe('a save killed at any point resumes from the last complete checkpoint, bit for bit', () => {
  it('the saves of the run are: mkdir, tensors, JSON, pointer temp, pointer rename, old folder removed', () => {
    // Steps 3, 6 and 8 (the epoch's end); the first save has no older folder to remove.
    expect(opsOfRun.map((o) => o.split(' ')[0])).toEqual([
      'mkdir',
      'write',
      'write',
      'write',
      'rename',
      'rm',
      'rm',
      'mkdir',
      'write',
      'write',
      'write',
      'rename',
      'rm',
      'mkdir',
      'write',
      'write',
      'write',
      'rename',
      'rm',
    ]);
    expect(opsOfRun[4]).toMatch(/^rename <dir>\/CURRENT\.tmp-\d+-[0-9a-f]{8} -> <dir>\/CURRENT$/);
  });

  it('killed before and after each of the 19 operations (in-process: every later operation fails too)', async () => {
    const before = tf.memory().numTensors;
    const cases: string[] = [];
    for (let at = 1; at <= opsOfRun.length; at++) {
      for (const when of ['before', 'after'] as const) {
        const dir = join(tmp, `cut-${at}-${when}`);
        let dead = false;
        const fs = dyingFs(nodeStateFs, at, when, () => {
          dead = true;
          throw new Killed(`killed ${when} operation ${at}`);
        });
        // A dead process does nothing more: its cleanup code must not run either.
        const corpse = { ...fs, rm: (p: string) => (dead ? Promise.reject(new Killed('dead')) : fs.rm(p)) };
        const t = faultTrainer(new FolderTrainStateStore(dir, corpse));
        await expect(t.run()).rejects.toBeInstanceOf(Killed);
        dispose(t);
        const step = lastCompleteStep(fs.log);
        cases.push(`${when} ${opsOfRun[at - 1].split(' ')[0]} #${at}: resumes at ${step}`);
        await resumeAndCheck(dir, step);
      }
    }
    expect(cases.filter((c) => c.startsWith('before rename')).map((c) => c.split(': ')[1])).toEqual(['resumes at 0', 'resumes at 3', 'resumes at 6']);
    expect(cases.filter((c) => c.startsWith('after rename')).map((c) => c.split(': ')[1])).toEqual(['resumes at 3', 'resumes at 6', 'resumes at 8']);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('a real SIGKILL of a child process between the JSON write and the pointer rename, and right after the rename', async () => {
    for (const [at, when, step] of [
      [11, 'after', 3],
      [12, 'after', 6],
    ] as const) {
      const dir = join(tmp, `sigkill-${at}-${when}`);
      const r = spawnSync(process.execPath, ['--import', 'tsx', resolve(repoRoot, 'tests/hostile/helpers/killedSave.ts'), dir, String(at), when], {
        cwd: repoRoot,
        encoding: 'utf8',
        timeout: 120_000,
      });
      expect(r.signal, r.stderr).toBe('SIGKILL');
      expect(r.stdout).toBe('');
      await resumeAndCheck(dir, step);
    }
  });

  it('an older-layout save cut between its two renames (tensors renamed, state.json.tmp pending) is finished on load', async () => {
    const at = (steps: number) => async () => {
      const t = faultTrainer();
      for (let i = 0; i < steps; i++) await t.trainStep();
      const s = encodeTrainState(await t.getState());
      dispose(t);
      return s;
    };
    const [s3, s6] = [await at(3)(), await at(6)()];
    const dir = join(tmp, 'legacy-cut');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'state.json'), s3.json);
    await writeFile(join(dir, 'state.safetensors'), s6.tensors); // the first rename of the step-6 save happened
    await writeFile(join(dir, 'state.json.tmp'), s6.json);
    const store = new FolderTrainStateStore(dir);
    const t = faultTrainer(store);
    expect(await t.restoreFromStore()).toBe(true);
    expect(t.step).toBe(6);
    dispose(t);
    expect((await readdir(dir)).sort()).toEqual(['state.json', 'state.safetensors']);
    await resumeAndCheck(dir, 6); // and the first new-layout save removes the older files
  });
});
