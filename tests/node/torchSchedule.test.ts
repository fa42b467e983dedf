import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { planMicroBatches, type PlannedMicroBatch } from '../../src/engine/export/torch/batchPlan.ts';
import { memorySplit } from '../../src/engine/train/memorySplit.ts';
import { MicroBatchSchedule, runTaskOrder } from '../../src/engine/train/microBatchSchedule.ts';
import type { ExperimentInput } from '../../src/engine/experiment/experimentSchema.ts';
import type { LoadedSplit } from '../../src/engine/data/shardReader.ts';
import { tinyExperiment, toyRows } from '../helpers/tinyTraining.ts';
import { PYTHON, readTorchTemplate, writeFiles } from '../helpers/torchExport.ts';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'taskscope-torch-schedule-'));
});
afterAll(() => rm(root, { recursive: true, force: true }));

const train = (): Record<string, LoadedSplit> => ({
  RTE: memorySplit('RTE', 'train', toyRows('pair', 45, 1), { type: 'classification' }),
  MRPC: memorySplit('MRPC', 'train', toyRows('pair', 19, 2), { type: 'classification' }),
  'STS-B': memorySplit('STS-B', 'train', toyRows('score', 70, 3), { type: 'regression' }),
});

const samplers: ExperimentInput['sampler'][] = [
  { kind: 'mtdnn', mixOpt: 0, ratio: 0 },
  { kind: 'mtdnn', mixOpt: 1, ratio: 0 },
  { kind: 'mtdnn', mixOpt: 0, ratio: 0.5 },
  { kind: 'mtdnn', mixOpt: 1, ratio: 0.5 },
  { kind: 'anneal' },
  { kind: 'anneal', sizes: 'original' },
  { kind: 'proportional' },
  { kind: 'sqrt', stepsPerEpoch: 17 },
  { kind: 'uniform' },
  { kind: 'temperature', temperature: 2 },
];
const modes = ['fixed', 'fixed-contents', 'reshuffle'] as const;

describe("train.py's own schedule (taskscope_torch/schedule.py) equals Taskscope's MicroBatchSchedule", () => {
  it(`${samplers.length} samplers x ${modes.length} batches modes, SIWLM on every other, accumulation 1-3, 3 epochs`, async () => {
    const cases: { dir: string; label: string; want: PlannedMicroBatch[] }[] = [];
    const template = await readTorchTemplate();
    let k = 0;
    for (const sampler of samplers) {
      for (const batches of modes) {
        const siwlm = k % 2 === 1;
        const exp = tinyExperiment({
          tasks: [{ name: 'RTE' }, { name: 'MRPC', weight: 2 }, { name: 'STS-B' }],
          sampler,
          batches,
          gradAccumulation: 1 + (k % 3),
          epochs: 3,
          seed: 11 + k,
          siwlm: siwlm ? { enabled: true, centralTask: 'STS-B', centralWeight: 3 } : { enabled: false },
        });
        const data = train();
        const splits = runTaskOrder(exp).map((t) => data[t.name]);
        const count = 3 * new MicroBatchSchedule(exp, splits).epochLength;
        const files = new Map<string, string>([
          ['experiment.json', JSON.stringify(exp)],
          ['export.json', JSON.stringify({ tasks: runTaskOrder(exp).map((t) => ({ name: t.name })) })],
          ...[...template].filter(([n]) => n.startsWith('taskscope_torch/')),
        ]);
        for (const s of splits)
          files.set(`data/${s.task}/train.jsonl`, Array.from(s.lengths, (n) => JSON.stringify({ ids: new Array(n).fill(5) })).join('\n') + '\n');
        const dir = join(root, `case${k}`);
        await writeFiles(dir, files);
        cases.push({
          dir,
          label: `${JSON.stringify(sampler)} ${batches}${siwlm ? ' siwlm' : ''} acc ${exp.gradAccumulation}`,
          want: planMicroBatches(exp, data, count),
        });
        k++;
      }
    }
    const { stdout } = await promisify(execFile)(PYTHON, ['-m', 'taskscope_torch.schedule', '--epochs', '3', ...cases.map((c) => c.dir)], {
      cwd: cases[0].dir,
      maxBuffer: 64 << 20,
    });
    const got = stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { dir: string; batches: PlannedMicroBatch[] });
    expect(got).toHaveLength(cases.length);
    cases.forEach((c, i) => {
      expect(got[i].dir, c.label).toBe(c.dir);
      expect(got[i].batches, c.label).toEqual(c.want);
    });
    // The cases exercise what they name: SIWLM weights vary, tasks mix, later epochs differ by mode.
    expect(new Set(cases.flatMap((c) => c.want.map((b) => b.weight))).size).toBeGreaterThan(2);
  }, 300_000);
});
