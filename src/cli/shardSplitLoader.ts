import { getTask } from '../../datasets/glueTasks.ts';
import type { SplitName, TaskName } from '../../datasets/types.ts';
import { buildShards, shardKeyFor } from '../engine/data/buildShards.ts';
import { FolderShardStore } from '../engine/platform/node/nodeShardStore.ts';
import { ShardReader, type LoadedSplit } from '../engine/data/shardReader.ts';
import type { DataSource } from '../engine/data/types.ts';
import type { BertTokenizer } from '../engine/tokenizer/bertTokenizer.ts';
import type { SplitLoader } from '../engine/train/runData.ts';

/**
 * Splits from a GLUE source, tokenized into a shard cache (built once, verified on later runs) and kept in
 * memory for the rest of the run.
 */
export function shardSplitLoader(source: DataSource, tokenizer: BertTokenizer, cacheDir: string): SplitLoader {
  const store = new FolderShardStore(cacheDir);
  const loaded = new Map<string, LoadedSplit | null>();
  return async (task: TaskName, split: SplitName, maxLength: number) => {
    const id = `${task}/${split}/${maxLength}`;
    if (loaded.has(id)) return loaded.get(id)!;
    const def = getTask(task);
    let out: LoadedSplit | null = null;
    if (await source.locate(def, split)) {
      await buildShards(source, def, split, tokenizer, { store, maxLength });
      const reader = await ShardReader.open(store, await shardKeyFor(def, split, tokenizer, maxLength), { source, tokenizer });
      out = await reader.loadAll();
    }
    loaded.set(id, out);
    return out;
  };
}
