import * as Comlink from 'comlink';
import type { DataWorkerApi } from '../../../workers/data.worker.ts';

/** The data worker (GLUE sources → token shards in IndexedDB) behind a comlink proxy. */
export interface DataClient {
  api: Comlink.Remote<DataWorkerApi>;
  terminate(): void;
}

export function createDataClient(): DataClient {
  const worker = new Worker(new URL('../../../workers/data.worker.ts', import.meta.url), { type: 'module', name: 'taskscope-data' });
  const api = Comlink.wrap<DataWorkerApi>(worker);
  return {
    api,
    terminate() {
      api[Comlink.releaseProxy]();
      worker.terminate();
    },
  };
}
