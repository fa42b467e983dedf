import { describe, expect, it } from 'vitest';
import type { SplitName, TaskName } from '../../datasets/types.ts';
import { parseExperiment } from '../../src/engine/experiment/experimentSchema.ts';
import { memorySplit } from '../../src/engine/train/memorySplit.ts';
import { assembleRunData, firstLabelledDevSplit, type RunDataTask } from '../../src/engine/train/runData.ts';

const split = (task: string, name: SplitName, n: number) =>
  memorySplit(
    task,
    name,
    Array.from({ length: n }, (_, i) => ({ ids: [101, 1000 + i, 102], label: i % 2, uid: `${name}-${i}` })),
  );

/** What each call asked for, and splits of `sizes[task/split]` rows (absent = the data has no such split). */
function loader(sizes: Record<string, number>) {
  const asked: string[] = [];
  const load = async (task: TaskName, name: SplitName) => {
    asked.push(`${task}/${name}`);
    return sizes[`${task}/${name}`] ? split(task, name, sizes[`${task}/${name}`]) : null;
  };
  return { asked, load };
}

describe('assembleRunData: one run data for train, pipeline, select, prune and the worker', () => {
  it('takes the first labelled dev split and the rows the entry asks for, seeded by the experiment', async () => {
    expect(firstLabelledDevSplit('MNLI')).toBe('dev_matched');
    expect(firstLabelledDevSplit('RTE')).toBe('dev');
    expect(firstLabelledDevSplit('AX')).toBeUndefined();
    const exp = parseExperiment(
      {
        seed: 3,
        tasks: [
          { name: 'RTE', trainFraction: 0.5 },
          { name: 'MNLI', maxTrainRows: 4 },
        ],
      },
      'test',
    );
    const { asked, load } = loader({ 'RTE/train': 10, 'RTE/dev': 6, 'MNLI/train': 9, 'MNLI/dev_matched': 5, 'MNLI/dev_mismatched': 7 });
    const told: RunDataTask[] = [];
    const data = await assembleRunData(exp, load, { label: 'test', onTask: (t) => told.push(t) });
    expect(asked).toEqual(['RTE/dev', 'RTE/train', 'MNLI/dev_matched', 'MNLI/train']);
    expect(data.MNLI.train.uids).toEqual(['train-0', 'train-1', 'train-2', 'train-3']);
    expect(data.MNLI.dev?.uids).toHaveLength(5);
    // Half of RTE's 10 rows, drawn by the experiment's seed and kept in file order; the same seed, the same rows.
    expect(data.RTE.train.rows).toBe(5);
    expect([...data.RTE.train.uids].sort()).toEqual(data.RTE.train.uids);
    expect((await assembleRunData(exp, loader({ 'RTE/train': 10, 'MNLI/train': 9 }).load, { label: 'test' })).RTE.train.uids).toEqual(data.RTE.train.uids);
    expect(told).toEqual([
      { task: 'RTE', fullTrainRows: 10, trainRows: 5, devSplit: 'dev', devRows: 6 },
      { task: 'MNLI', fullTrainRows: 9, trainRows: 4, devSplit: 'dev_matched', devRows: 5 },
    ]);
  });

  it('caps dev rows, trains on dev for dev-only analyses, and names a missing training split', async () => {
    const exp = parseExperiment({ tasks: [{ name: 'RTE' }] }, 'test');
    const capped = await assembleRunData(exp, loader({ 'RTE/train': 10, 'RTE/dev': 6 }).load, { label: 'test', devRows: 2 });
    expect(capped.RTE.dev?.uids).toEqual(['dev-0', 'dev-1']);
    const devOnly = loader({ 'RTE/train': 10, 'RTE/dev': 6 });
    const onDev = await assembleRunData(exp, devOnly.load, { label: 'test', devAsTrain: true });
    expect(devOnly.asked).toEqual(['RTE/dev']);
    expect(onDev.RTE.train.uids).toEqual(onDev.RTE.dev?.uids);
    await expect(assembleRunData(exp, loader({ 'RTE/dev': 6 }).load, { label: 'select' })).rejects.toThrow('select: the data has no RTE train split');
  });
});
