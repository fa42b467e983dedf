import type { Experiment } from '../engine/experiment/experimentSchema.ts';
import { urlFileProvider } from '../engine/data/fileProvider.ts';
import { parquetSourceFromPath, tsvSourceFromPath } from '../engine/data/nodeFiles.ts';
import { TsvSource } from '../engine/data/tsvSource.ts';
import type { DataSource } from '../engine/data/types.ts';

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
      throw new Error(`${command}: data kind "synthetic" is not available in the CLI; give a GLUE folder ({"kind": "glue-dir", "path": …}) or a Hub mirror`);
  }
}
