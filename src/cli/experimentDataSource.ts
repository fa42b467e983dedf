import type { Experiment } from '../engine/experiment/experimentSchema.ts';
import { urlFileProvider } from '../engine/data/fileProvider.ts';
import { parquetSourceFromPath, tsvSourceFromPath } from '../engine/platform/node/nodeFiles.ts';
import { TsvSource } from '../engine/data/tsvSource.ts';
import type { DataSource } from '../engine/data/types.ts';
import { syntheticSpec, syntheticSplits } from '../engine/synthetic/syntheticData.ts';
import type { TaskSpec } from '../engine/model/taskSpec.ts';
import type { TaskSplits } from '../engine/train/trainer.ts';
import { trainRowsFor } from '../engine/train/trainSubset.ts';

/** The GLUE source an experiment names, opened in Node. `command` prefixes the error (train, pipeline, select). */
export function dataSourceOf(exp: Experiment, command: string): Promise<DataSource> | DataSource {
  const d = exp.data;
  switch (d.kind) {
    case 'glue-dir':
      return tsvSourceFromPath(d.path);
    case 'glue-url':
      return new TsvSource(urlFileProvider(d.url));
    case 'hub':
      return parquetSourceFromPath(d.mirror);
    case 'synthetic':
      throw new Error(`${command}: data kind "synthetic" is generated, not read: only train, select, prune and study take it`);
  }
}

/** Rows per task the CLI generates when the experiment does not say. */
export const SYNTHETIC_DEFAULT_ROWS = { train: 2000, dev: 500 } as const;

/** Generated rows and the head specs of their tasks. */
export interface SyntheticRunData {
  data: Record<string, TaskSplits>;
  specs: Record<string, TaskSpec>;
}

/**
 * The generated tasks of a `data.kind: "synthetic"` experiment (demo SYN-* or planted PL-*), from the
 * experiment's seed, with each entry's trainFraction / maxTrainRows applied as for GLUE, and their specs.
 */
export function syntheticRunData(exp: Experiment): SyntheticRunData {
  const d = exp.data;
  if (d.kind !== 'synthetic') throw new Error(`syntheticRunData: data.kind is "${d.kind}"`);
  const splits = syntheticSplits(
    exp.tasks.map((t) => t.name),
    {
      trainRows: d.trainRows ?? SYNTHETIC_DEFAULT_ROWS.train,
      devRows: d.devRows ?? SYNTHETIC_DEFAULT_ROWS.dev,
      seed: exp.seed,
      maxLength: exp.maxLength,
      noise: d.noise,
    },
  );
  const data: Record<string, TaskSplits> = {};
  const specs: Record<string, TaskSpec> = {};
  for (const t of exp.tasks) {
    data[t.name] = { train: trainRowsFor(splits[t.name].train, t, exp.seed), dev: splits[t.name].dev };
    specs[t.name] = { ...syntheticSpec(t.name), ...(t.dropout !== undefined ? { dropout: t.dropout } : {}) };
  }
  return { data, specs };
}
