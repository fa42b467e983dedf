import { beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { useBackend } from '../helpers/nodeBackends.ts';
import { loadBertCheckpoint } from '../../src/engine/checkpoint/hfFolder.ts';
import { dirSource } from '../../src/engine/platform/node/nodeSource.ts';
import { SMALL_PRETRAIN_ARGS, pretrainCliRoot, readJsonLines } from '../helpers/pretrainCliRoot.ts';
import { TINY } from '../helpers/pretrainTiny.ts';

// wasm: the 200-step loop takes ~14 s there and ~90 s on tfjs's cpu backend (both run on the CPU).
beforeAll(async () => {
  await useBackend('wasm');
});

describe('taskscope pretrain (CLI)', () => {
  const cliRoot = pretrainCliRoot;
  const small = SMALL_PRETRAIN_ARGS;
  const readLog = (file: string) => readJsonLines(file) as Record<string, any>[];

  it('trains, checkpoints, logs JSONL, reports held-out loss, and resumes', async () => {
    const { root, cli: cliIn } = cliRoot();
    const out = join(root, 'run');
    const cli = (...args: string[]) => cliIn('run', ...args);
    try {
      const stdout = await cli('--vocab', TINY, ...small, '--steps', '4', '--lr', '1e-3');
      expect(stdout).toMatch(/^held-out MLM loss \d+\.\d{4}, accuracy \d+\.\d{2} % on \d+ masked tokens of 3 sequences; checkpoint in /);
      const log = readLog(join(out, 'log.jsonl'));
      const steps = log.filter((l) => l.type === 'step');
      expect(steps.map((s) => s.step)).toEqual([1, 2, 3, 4]);
      for (const s of steps) for (const k of ['loss', 'lr', 'tokensPerSec', 'etaSeconds']) expect(Number.isFinite(s[k]), k).toBe(true);
      expect(log.filter((l) => l.type === 'eval').length).toBe(2);
      expect(JSON.parse(readFileSync(join(out, 'pretrain_state.json'), 'utf8')).step).toBe(4);

      await cli('--resume', '--steps', '6');
      const log2 = readLog(join(out, 'log.jsonl'));
      expect(log2.filter((l) => l.type === 'start').map((l) => l.resumedAt)).toEqual([null, 4]);
      expect(log2.filter((l) => l.type === 'step').map((l) => l.step)).toEqual([1, 2, 3, 4, 5, 6]);
      await expect(cli('--resume', '--steps', '8', '--lr', '0.1')).rejects.toThrow(`--resume: the run in ${out} used --lr 1e-3, not 0.1`);
      const ckpt = await loadBertCheckpoint(dirSource(out));
      expect(ckpt.config.hiddenSize).toBe(32);
      expect([...ckpt.extraTensors!.keys()].filter((k) => k.startsWith('cls.')).length).toBe(5);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('--stop-at k keeps the schedule of --steps: stopped at 3 and resumed to 6 equals the uninterrupted 6-step run', async () => {
    const { root, cli } = cliRoot();
    try {
      const args = ['--vocab', TINY, ...small, '--steps', '6', '--lr', '1e-3', '--warmup', '0.5'];
      await cli('whole', ...args);
      await cli('stopped', ...args, '--stop-at', '3');
      expect(JSON.parse(readFileSync(join(root, 'stopped', 'pretrain_state.json'), 'utf8')).step).toBe(3);
      const end = readLog(join(root, 'stopped', 'log.jsonl')).filter((l) => l.type === 'end');
      expect(end.map((l) => [l.step, l.stoppedEarly])).toEqual([[3, true]]);
      await expect(cli('stopped', '--resume', '--steps', '6', '--stop-at', '2')).rejects.toThrow(
        `--stop-at 2: the run in ${join(root, 'stopped')} is already at step 3`,
      );
      await expect(cli('other', ...args, '--stop-at', '7')).rejects.toThrow('--stop-at 7 is beyond --steps 6');
      await cli('stopped', '--resume', '--steps', '6');

      // The learning rates of steps 1–6 are those of one 6-step schedule (warmup 3, then linear decay).
      const lrs = (dir: string) =>
        readLog(join(root, dir, 'log.jsonl'))
          .filter((l) => l.type === 'step')
          .map((l) => l.lr);
      expect(lrs('stopped')).toEqual(lrs('whole'));
      const [a, b] = await Promise.all([loadBertCheckpoint(dirSource(join(root, 'whole'))), loadBertCheckpoint(dirSource(join(root, 'stopped')))]);
      expect([...b.tensors.keys()]).toEqual([...a.tensors.keys()]);
      let worst = 0;
      for (const [name, t] of a.tensors) {
        const u = b.tensors.get(name)!.data as Float32Array;
        (t.data as Float32Array).forEach((x, i) => {
          worst = Math.max(worst, Math.abs(x - u[i]));
        });
      }
      expect(worst).toBeLessThanOrEqual(1e-6);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
