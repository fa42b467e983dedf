import { cp, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtureModelDir } from '../helpers/shared.ts';
import { runTrainCli } from '../../src/cli/commands/train.ts';
import { acquireFileLock } from '../../src/engine/platform/node/nodeFileLock.ts';
import { logLines, spawnTrain, waitForFile, wnliExperiment, writeConfig } from './helpers/cliRun.ts';

let tmp: string;
let config: string;
let reference: string;
const cache = () => join(tmp, 'cache');
const train = (out: string, cfg = config, extra: Partial<Parameters<typeof runTrainCli>[0]> = {}, notes: string[] = []) =>
  runTrainCli({ config: cfg, out, backend: 'cpu', cache: cache(), progress: false, ...extra }, (l) => notes.push(l));

/** Every file under `dir` with its bytes, to show a rerun wrote nothing. */
async function snapshot(dir: string): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  for (const e of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!e.isFile()) continue;
    const p = join(e.parentPath, e.name);
    files.set(p, `${(await stat(p)).mtimeMs} ${(await readFile(p)).toString('base64')}`);
  }
  return files;
}

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'taskscope-runfolder-'));
  config = await writeConfig(tmp, 'exp.json', wnliExperiment());
  reference = join(tmp, 'reference');
  expect(await train(reference)).toBe(0);
});
afterAll(() => rm(tmp, { recursive: true, force: true }));

describe('a finished run is never modified by a rerun', () => {
  it('the same config reports the results and exits 0 without writing anything', async () => {
    const before = await snapshot(reference);
    const notes: string[] = [];
    expect(await train(reference, config, {}, notes)).toBe(0);
    const m = JSON.parse(await readFile(join(reference, 'metrics.json'), 'utf8'));
    expect(m).toMatchObject({ status: 'done', step: 16, totalSteps: 16 });
    expect(notes).toEqual([
      `already finished: ${reference} (step 16 of 16; dev GLUE score ${(100 * m.evaluation.glueScore).toFixed(2)}; results in ${join(reference, 'metrics.json')}); nothing was written`,
    ]);
    expect(await snapshot(reference)).toEqual(before);
  });

  it('another seed, or another initial model of the same shape (compared by checksum), is refused naming the fields', async () => {
    const before = await snapshot(reference);
    const seed = await writeConfig(tmp, 'seed.json', wnliExperiment({ seed: 6, name: 'renamed' }));
    await expect(train(reference, seed)).rejects.toThrow(
      `${reference} holds a finished run of a different experiment (fields differ: name, seed); it is left as it is: give another --out, or --force-new to start a fresh run in a new folder beside it`,
    );
    // A copy of random-tiny with one weight changed: the same shape, so only the checksum tells them apart.
    const other = join(tmp, 'other-model');
    await cp(fixtureModelDir('random-tiny'), other, { recursive: true });
    const bytes = await readFile(join(other, 'model.safetensors'));
    bytes[bytes.length - 1] ^= 0x01;
    await writeFile(join(other, 'model.safetensors'), bytes);
    const moved = await writeConfig(tmp, 'model.json', wnliExperiment({ model: { kind: 'dir', path: other } }));
    await expect(train(reference, moved)).rejects.toThrow(
      new RegExp(
        `^${reference.replaceAll('/', '\\/')} holds a finished run of a different experiment \\(fields differ: model \\(initial weights [0-9a-f]{12}… saved, [0-9a-f]{12}… now\\)\\); it is left as it is`,
      ),
    );
    // The same weights at another path are the same initial model: the rerun is a no-op.
    const same = join(tmp, 'same-model');
    await cp(fixtureModelDir('random-tiny'), same, { recursive: true });
    expect(await train(reference, await writeConfig(tmp, 'same.json', wnliExperiment({ model: { kind: 'dir', path: same } })))).toBe(0);
    await expect(train(reference, config, { fresh: true })).rejects.toThrow(
      `${reference} holds a finished run; --fresh would erase it: give another --out, or --force-new to start a fresh run in a new folder beside it`,
    );
    expect(await snapshot(reference)).toEqual(before);

    const notes: string[] = [];
    expect(await train(reference, seed, { forceNew: true }, notes)).toBe(0);
    expect(notes[0]).toBe(`--force-new: ${reference} holds a finished run; it is left as it is and a fresh run starts in ${reference}-2`);
    expect(JSON.parse(await readFile(join(`${reference}-2`, 'metrics.json'), 'utf8'))).toMatchObject({ status: 'done', seed: 6 });
    expect(await snapshot(reference)).toEqual(before);
  });

  it('killed between the final state save and metrics.json: the rerun finishes with the same evaluation and weights', async () => {
    const out = join(tmp, 'cut-finish');
    await cp(reference, out, { recursive: true });
    await rm(join(out, 'metrics.json'));
    await rm(join(out, 'checkpoint'), { recursive: true });
    // What a writer killed mid-write leaves: temp files of this version and of older ones.
    await (await import('node:fs/promises')).mkdir(join(out, 'checkpoint'));
    for (const f of ['metrics.json.tmp', 'metrics.json.tmp-999-deadbeef', 'checkpoint/model.safetensors.tmp-999-deadbeef'])
      await writeFile(join(out, f), 'half');
    const notes: string[] = [];
    expect(await train(out, config, {}, notes)).toBe(0);
    expect(notes[0]).toBe(
      `${out}: removed 3 temporary files of an interrupted write (metrics.json.tmp, metrics.json.tmp-999-deadbeef, checkpoint/model.safetensors.tmp-999-deadbeef)`,
    );
    expect(notes).toContain(`resuming ${join(out, 'state')} at step 16 of 16`);
    expect((await readdir(join(out, 'checkpoint'))).filter((f) => f.includes('.tmp'))).toEqual([]);
    const [a, b] = await Promise.all([reference, out].map(async (d) => JSON.parse(await readFile(join(d, 'metrics.json'), 'utf8'))));
    expect(b.evaluation).toEqual(a.evaluation);
    expect(b.evaluation).not.toBeNull();
    expect((await readFile(join(out, 'checkpoint/model.safetensors'))).equals(await readFile(join(reference, 'checkpoint/model.safetensors')))).toBe(true);
    expect((await logLines(out)).filter((l) => l.type === 'step').map((l) => l.step)).toEqual(Array.from({ length: 16 }, (_, i) => i + 1));
  });
});

describe('one writer per run folder', () => {
  it('a live lock is refused naming the other process; a dead one on this host is taken over', async () => {
    const out = join(tmp, 'locked');
    await rm(out, { recursive: true, force: true });
    await (await import('node:fs/promises')).mkdir(out, { recursive: true });
    const held = await acquireFileLock(join(out, '.lock'), { purpose: 'taskscope train' });
    await expect(train(out)).rejects.toThrow(
      `--out ${out} is in use: ${join(out, '.lock')}: in use by taskscope train (pid ${process.pid} on ${hostname()}, since ${held.owner.since}); wait for it to finish or stop it`,
    );
    await held.release();
    // A lock of a process that no longer runs (pid 2^22 + 1 is above Linux's pid_max).
    await writeFile(
      join(out, '.lock'),
      JSON.stringify({ pid: 4194305, host: hostname(), writer: '4194305-deadbeef', since: '2026-01-01T00:00:00.000Z', purpose: 'taskscope train' }),
    );
    const notes: string[] = [];
    expect(await train(out, config, {}, notes)).toBe(0);
    expect(notes[0]).toBe(`${out}: took over the lock of pid 4194305 on ${hostname()}, which no longer runs`);
    expect(await readdir(out)).not.toContain('.lock');
  });

  it('two train processes on one --out: the second is refused naming the first; after a SIGKILL of the first the run resumes bit for bit', async () => {
    const out = join(tmp, 'two-writers');
    const a = spawnTrain(['--config', config, '--out', out, '--cache', cache()]);
    await waitForFile(join(out, 'log.jsonl'), (t) => t.includes('"type":"checkpoint","step":8'));
    const b = spawnTrain(['--config', config, '--out', out, '--cache', cache()]);
    const rb = await b.done;
    a.proc.kill('SIGKILL');
    const ra = await a.done;
    if (ra.signal === 'SIGKILL') {
      expect(rb.code).toBe(1);
      expect(rb.stderr).toMatch(
        new RegExp(
          `taskscope: --out ${out} is in use: ${out}/\\.lock: in use by taskscope train \\(pid ${a.proc.pid} on ${hostname()}, since [0-9T:.Z-]+\\); wait for it to finish or stop it\\n$`,
        ),
      );
    } else {
      // The first finished before the second reached the lock: the second then found a finished run.
      expect(rb.stderr).toContain(`already finished: ${out}`);
    }
    const notes: string[] = [];
    expect(await train(out, config, {}, notes)).toBe(0);
    if (ra.signal === 'SIGKILL') expect(notes[0]).toBe(`${out}: took over the lock of pid ${a.proc.pid} on ${hostname()}, which no longer runs`);
    expect((await readFile(join(out, 'checkpoint/model.safetensors'))).equals(await readFile(join(reference, 'checkpoint/model.safetensors')))).toBe(true);
    const steps = (await logLines(out)).filter((l) => l.type === 'step').map((l) => l.step);
    expect(steps).toEqual(Array.from({ length: 16 }, (_, i) => i + 1)); // each step once
    const [ma, mr] = await Promise.all([out, reference].map(async (d) => JSON.parse(await readFile(join(d, 'metrics.json'), 'utf8'))));
    expect(ma.evaluation.tasks).toEqual(mr.evaluation.tasks);
  });

  it('two train processes on one fresh --cache (different --out) both finish with the same shard checksums', async () => {
    const shared = join(tmp, 'shared-cache');
    const runs = ['c1', 'c2'].map((n) => spawnTrain(['--config', config, '--out', join(tmp, n), '--cache', shared]));
    const results = await Promise.all(runs.map((r) => r.done));
    for (const r of results) expect([r.code, r.stderr.match(/taskscope: .*/)?.[0]]).toEqual([0, undefined]);
    const manifest = async (root: string, split: string) => {
      const dir = join(root, 'WNLI', split);
      const [variant] = await readdir(dir);
      const m = JSON.parse(await readFile(join(dir, variant, 'manifest.json'), 'utf8'));
      return {
        complete: m.complete,
        rows: m.rows,
        checksums: m.shards.map((s: { checksum: string }) => s.checksum),
        files: (await readdir(join(dir, variant))).sort(),
      };
    };
    for (const split of ['train', 'dev']) {
      const [got, want] = [await manifest(shared, split), await manifest(cache(), split)];
      expect(got).toEqual(want);
      expect(got.complete).toBe(true);
      expect(got.files.every((f) => f === 'manifest.json' || /^shard-\d{5}\.bin$/.test(f))).toBe(true); // no temp files, no lock
    }
    const [m1, m2] = await Promise.all(['c1', 'c2'].map(async (n) => JSON.parse(await readFile(join(tmp, n, 'metrics.json'), 'utf8'))));
    expect(m1.evaluation.tasks).toEqual(m2.evaluation.tasks);
  });
});
