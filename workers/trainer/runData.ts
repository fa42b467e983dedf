import type { LoadedSplit } from '../../src/engine/data/shardReader.ts';
import type { ShardKey } from '../../src/engine/data/shardStore.ts';
import type { Experiment } from '../../src/engine/experiment/experimentSchema.ts';
import { selectTrainRows } from '../../src/engine/train/domainAdaptation.ts';
import { assembleRunData, type SplitLoader } from '../../src/engine/train/runData.ts';
import type { TaskSplits } from '../../src/engine/train/trainer.ts';
import { syntheticSplits } from './syntheticData.ts';
import type { RunData } from './types.ts';

/**
 * The splits of a run's tasks, as the worker trains on them: generated synthetic rows or cached GLUE shards,
 * training rows per the experiment's trainFraction/maxTrainRows, dev capped at `devRows`. Training runs,
 * embedding maps and auxiliary-task selection all read their data through here, so a selection sees the
 * same rows a training run of the same experiment would.
 */

/** Reads one cached shard set (IndexedDB in the worker; anything in tests). */
export type ShardLoader = (key: ShardKey) => Promise<LoadedSplit>;

export async function loadRunData(
  exp: Experiment,
  data: RunData,
  loadShard: ShardLoader,
  opts: { devOnly?: boolean } = {},
): Promise<Record<string, TaskSplits>> {
  if (data.kind === 'synthetic') {
    const all = syntheticSplits(
      exp.tasks.map((t) => t.name),
      { trainRows: data.trainRows, devRows: data.devRows, seed: exp.seed, maxLength: exp.maxLength },
    );
    return Object.fromEntries(exp.tasks.map((t) => [t.name, { train: selectTrainRows(all[t.name].train, t, exp.seed), dev: all[t.name].dev }]));
  }
  const loadSplit: SplitLoader = async (task, split) => {
    const keys = data.tasks[task];
    if (!keys) throw new Error(`no cached data for task ${task}: build its shards in the Data view first`);
    const key = split === 'train' ? keys.train : keys.dev;
    return key ? loadShard(key) : null;
  };
  return assembleRunData(exp, loadSplit, { label: 'train', devRows: data.devRows, devAsTrain: opts.devOnly });
}
