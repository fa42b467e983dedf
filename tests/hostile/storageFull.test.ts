import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import 'fake-indexeddb/auto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { runTrainCli } from '../../src/cli/commands/train.ts';
import { FolderTrainStateStore, nodeStateFs, type StateFs } from '../../src/engine/platform/node/folderTrainStateStore.ts';
import { IdbTrainStateStore, RunInUseError } from '../../src/engine/platform/browser/idbTrainStateStore.ts';
import { encodeTrainState } from '../../src/engine/train/trainState.ts';
import type { Trainer } from '../../src/engine/train/trainer.ts';
import { useCpu } from './helpers/childBackend.ts';
import { wnliExperiment, writeConfig } from './helpers/cliRun.ts';
import { faultTrainer } from './helpers/tinyRun.ts';

let tmp: string;
let reference: Buffer;
beforeAll(async () => {
  await useCpu();
  tmp = await mkdtemp(join(tmpdir(), 'taskscope-full-'));
  const t = faultTrainer();
  await t.run();
  reference = Buffer.from(encodeTrainState(await t.getState()).tensors);
  dispose(t);
});
afterAll(() => rm(tmp, { recursive: true, force: true }));

function dispose(t: Trainer): void {
  t.dispose();
  t.model.dispose();
}

async function finishesLikeReference(t: Trainer, resumeStep: number): Promise<void> {
  try {
    expect(await t.restoreFromStore()).toBe(true);
    expect(t.step).toBe(resumeStep);
    expect((await t.run()).status).toBe('done');
    expect(Buffer.from(encodeTrainState(await t.getState()).tensors).equals(reference)).toBe(true);
  } finally {
    dispose(t);
  }
}

const enospc = (path: string) => Object.assign(new Error(`ENOSPC: no space left on device, write '${path}'`), { code: 'ENOSPC' });

describe('storage full while saving a train state', () => {
  it('a folder store (stubbed file layer): names the file and the kept checkpoint, leaves nothing half-written, resumes', async () => {
    const dir = join(tmp, 'stub');
    let writes = 0;
    // The 4th write is the tensors of the second save (step 6): the disk is full from then on.
    const full: StateFs = { ...nodeStateFs, writeFile: (p, d) => (++writes >= 4 ? Promise.reject(enospc(p)) : nodeStateFs.writeFile(p, d)) };
    const t = faultTrainer(new FolderTrainStateStore(dir, full));
    const err = await t.run().then(
      () => null,
      (e: Error) => e,
    );
    dispose(t);
    expect(err?.message).toMatch(
      new RegExp(
        `^storage full while saving the train state of step 6 to ${dir}/ckpt-000000006-\\d+-[0-9a-f]{8}/state\\.safetensors \\(ENOSPC: no space left on device, write '${dir}/ckpt-000000006-\\d+-[0-9a-f]{8}/state\\.safetensors'\\); the checkpoint of step 3 in ${dir} is intact and nothing of step 6 was kept; free space and run the same command again to resume from step 3$`,
      ),
    );
    expect((await readdir(dir)).sort()).toEqual(['CURRENT', expect.stringMatching(/^ckpt-000000003-/)]);
    await finishesLikeReference(faultTrainer(new FolderTrainStateStore(dir)), 3);
  });

  const mnt = join(tmpdir(), `taskscope-tmpfs-${process.pid}`);
  let mounted = false;
  beforeAll(async () => {
    await mkdir(mnt, { recursive: true });
    mounted = process.getuid?.() === 0 && spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', mnt]).status === 0;
  });
  afterAll(async () => {
    if (mounted) spawnSync('umount', [mnt]);
    await rm(mnt, { recursive: true, force: true });
  });

  it('`train` on a real full disk (an 8 MiB tmpfs; needs root): ENOSPC names the file and what was kept, a rerun after freeing space finishes bit for bit', async (ctx) => {
    if (!mounted) ctx.skip('mount -t tmpfs needs root; the stubbed case above covers the store');
    const config = await writeConfig(tmp, 'wnli.json', wnliExperiment({ epochs: 1, checkpointEvery: 2 }));
    const cache = join(tmp, 'cache');
    const ref = join(tmp, 'wnli-reference');
    expect(await runTrainCli({ config, out: ref, backend: 'cpu', cache, progress: false }, () => {})).toBe(0);

    // Room for one train state (~0.34 MB) and the log, not for a second one beside it.
    const out = join(mnt, 'run');
    await mkdir(out);
    await writeFile(join(mnt, 'filler'), Buffer.alloc(8 * 1024 * 1024 - 640 * 1024));
    const err = await runTrainCli({ config, out, backend: 'cpu', cache, progress: false }, () => {}).then(
      () => null,
      (e: Error) => e,
    );
    const state = join(out, 'state');
    expect(err?.message).toMatch(
      new RegExp(
        `^storage full while saving the train state of step (\\d+) to ${state}/ckpt-\\d{9}-\\d+-[0-9a-f]{8}/state\\.(safetensors|json) \\(ENOSPC: no space left on device, write\\); the checkpoint of step (\\d+) in ${state} is intact and nothing of step \\1 was kept; free space and run the same command again to resume from step \\3$`,
      ),
    );
    const kept = Number(/resume from step (\d+)$/.exec(err!.message)![1]);
    expect(kept).toBeGreaterThan(0);
    expect((await readdir(state)).sort()).toEqual(['CURRENT', expect.stringMatching(new RegExp(`^ckpt-${String(kept).padStart(9, '0')}-`))]);
    expect((await readdir(out)).sort()).toEqual(['log.jsonl', 'state']); // no .lock, no temp file, no metrics.json

    await rm(join(mnt, 'filler'));
    const notes: string[] = [];
    expect(await runTrainCli({ config, out, backend: 'cpu', cache, progress: false }, (l) => notes.push(l))).toBe(0);
    // The steps logged after the kept checkpoint (before the failed save) are dropped from the log.
    expect(notes).toContainEqual(
      expect.stringMatching(new RegExp(`^resuming ${state} at step ${kept} of 8 \\(\\d+ log lines after it dropped from ${out}/log\\.jsonl\\)$`)),
    );
    expect((await readFile(join(out, 'checkpoint/model.safetensors'))).equals(await readFile(join(ref, 'checkpoint/model.safetensors')))).toBe(true);
    const steps = (await readFile(join(out, 'log.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
      .filter((l) => l.type === 'step')
      .map((l) => l.step);
    expect(steps).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });
});

describe('IndexedDB: storage quota and one writer across tabs', () => {
  it('a full quota names the store and the kept step; nothing of the new step is stored; the run resumes', async () => {
    const store = await IdbTrainStateStore.open('quota-run', 'taskscope-runs-quota');
    const proto = IDBObjectStore.prototype;
    const put = proto.put;
    let puts = 0;
    proto.put = function (this: IDBObjectStore, ...args: Parameters<IDBObjectStore['put']>) {
      if (this.name === 'states' && ++puts > 1) throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
      return put.apply(this, args);
    };
    let err: Error | null;
    const t = faultTrainer(store);
    try {
      err = await t.run().then(
        () => null,
        (e: Error) => e,
      );
    } finally {
      proto.put = put;
      dispose(t);
    }
    expect(err?.message).toMatch(
      /^storage full \(browser quota\) while saving the train state of step 6 \(0\.\d MB\) to IndexedDB "taskscope-runs-quota" run "quota-run": The quota has been exceeded\.; the state of step 3 is intact and nothing of step 6 was kept; free space \(delete old runs or cached datasets\) and resume the run from step 3$/,
    );
    await finishesLikeReference(faultTrainer(store), 3);
    store.close();
  });

  it('a run held by another tab (Web Locks) is refused; once released it opens, and close() releases it', async () => {
    // A minimal navigator.locks: names held by "other tabs" are in `held`; a request for one waits until aborted.
    const held = new Set<string>(['taskscope-run:taskscope-runs-locks:busy']);
    const locks = {
      async request(name: string, opts: { signal: AbortSignal }, cb: (lock: unknown) => Promise<void> | void) {
        if (held.has(name)) {
          await new Promise((_, reject) => opts.signal.addEventListener('abort', () => reject(new DOMException('The request was aborted.', 'AbortError'))));
        }
        held.add(name);
        try {
          return await cb({ name });
        } finally {
          held.delete(name);
        }
      },
    };
    vi.stubGlobal('navigator', { locks });
    try {
      const err = await IdbTrainStateStore.open('busy', 'taskscope-runs-locks', { writer: true }).then(
        () => null,
        (e: Error) => e,
      );
      expect(err).toBeInstanceOf(RunInUseError);
      expect(err!.message).toBe(
        'IndexedDB "taskscope-runs-locks" run "busy" is open for writing in another tab or window; close it there (or wait for its run to end) before continuing here',
      );
      held.delete('taskscope-run:taskscope-runs-locks:busy');
      const a = await IdbTrainStateStore.open('busy', 'taskscope-runs-locks', { writer: true });
      expect(held.has('taskscope-run:taskscope-runs-locks:busy')).toBe(true);
      const again = await IdbTrainStateStore.open('busy', 'taskscope-runs-locks', { writer: true }); // the same worker relaunching its run
      again.close();
      expect(held.has('taskscope-run:taskscope-runs-locks:busy')).toBe(true);
      a.close();
      await new Promise((r) => setTimeout(r, 0));
      expect(held.has('taskscope-run:taskscope-runs-locks:busy')).toBe(false);
    } finally {
      vi.unstubAllGlobals();
    }
  });
});
