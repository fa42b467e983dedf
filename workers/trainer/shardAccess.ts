import { ShardReader, type LoadedSplit } from '../../src/engine/data/shardReader.ts';
import type { ShardKey } from '../../src/engine/data/shardStore.ts';
import { IdbShardStore } from '../../src/engine/platform/browser/idbShardStore.ts';

let shardStore: Promise<IdbShardStore> | null = null;

const shards = () => (shardStore ??= IdbShardStore.open());

/** A whole token shard split from this browser's shard store (the data worker built it). */
export async function loadShard(key: ShardKey): Promise<LoadedSplit> {
  return (await ShardReader.open(await shards(), key)).loadAll();
}
