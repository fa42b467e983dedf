import * as Comlink from 'comlink';
import type { TrainerWorkerApi } from '../../../workers/trainer.worker.ts';

/** The trainer worker (tfjs + run storage) behind a comlink proxy; every result is plain data. */
export interface TrainerClient {
  api: Comlink.Remote<TrainerWorkerApi>;
  terminate(): void;
}

export function createTrainerClient(): TrainerClient {
  const worker = new Worker(new URL('../../../workers/trainer.worker.ts', import.meta.url), { type: 'module', name: 'taskscope-trainer' });
  const api = Comlink.wrap<TrainerWorkerApi>(worker);
  return {
    api,
    terminate() {
      api[Comlink.releaseProxy]();
      worker.terminate();
    },
  };
}
