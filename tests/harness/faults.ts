import * as tf from '@tensorflow/tfjs';
import { IdbTrainStateStore } from '../../src/engine/platform/browser/idbTrainStateStore.ts';
import { encodeTrainState, type TrainStateStore } from '../../src/engine/train/trainState.ts';
import type { Trainer } from '../../src/engine/train/trainer.ts';
import { faultTrainer } from '../hostile/helpers/tinyRun.ts';

/** Test-only page: train states in the real IndexedDB and Web Locks of Chromium, for tests/browser/idbFaults.test.ts. */
const DB = 'taskscope-fault-runs';
const open = new Map<string, IdbTrainStateStore>();

async function digest(t: Trainer): Promise<string> {
  const bytes = encodeTrainState(await t.getState()).tensors;
  const h = await crypto.subtle.digest('SHA-256', bytes.slice().buffer as ArrayBuffer);
  return [...new Uint8Array(h)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

function dispose(t: Trainer): void {
  t.dispose();
  t.model.dispose();
}

const api = {
  async ready(): Promise<string> {
    await tf.setBackend('cpu');
    await tf.ready();
    return tf.getBackend();
  },
  /** The uninterrupted run's final model + optimiser bytes (SHA-256). */
  async reference(): Promise<string> {
    const t = faultTrainer();
    await t.run();
    const d = await digest(t);
    dispose(t);
    return d;
  },
  /** Starts a run that saves into IndexedDB, each save held back `delayMs` first; never awaited (the test closes the tab). */
  async startRun(runId: string, delayMs: number): Promise<void> {
    const store = await IdbTrainStateStore.open(runId, DB, { writer: true });
    const slow: TrainStateStore = {
      describe: () => store.describe(),
      load: () => store.load(),
      save: async (s, step) => {
        await new Promise((r) => setTimeout(r, delayMs));
        await store.save(s, step);
      },
    };
    void faultTrainer(slow).run();
  },
  /** The step of the stored state, read without the writer lock. */
  async savedStep(runId: string): Promise<number | null> {
    const store = await IdbTrainStateStore.open(runId, DB);
    const s = await store.load();
    store.close();
    return s ? (JSON.parse(s.json) as { step: number }).step : null;
  },
  /** Resumes the stored run to its end as the writer: the step it resumed at and the final bytes' SHA-256. */
  async resumeToEnd(runId: string): Promise<{ resumedAt: number; digest: string }> {
    const store = await IdbTrainStateStore.open(runId, DB, { writer: true });
    const t = faultTrainer(store);
    try {
      await t.restoreFromStore();
      const resumedAt = t.step;
      await t.run();
      return { resumedAt, digest: await digest(t) };
    } finally {
      dispose(t);
      store.close();
    }
  },
  /** Opens the run as its writer and keeps it open: 'ok', or the refusal. */
  async openWriter(runId: string): Promise<string> {
    try {
      open.set(runId, await IdbTrainStateStore.open(runId, DB, { writer: true }));
      return 'ok';
    } catch (e) {
      return `${(e as Error).name}: ${(e as Error).message}`;
    }
  },
  async closeWriter(runId: string): Promise<void> {
    open.get(runId)?.close();
    open.delete(runId);
  },
  /** Whether any tab holds the run's writer lock (navigator.locks.query). */
  async lockHeld(runId: string): Promise<boolean> {
    const q = await navigator.locks.query();
    return (q.held ?? []).some((l) => l.name === `taskscope-run:${DB}:${runId}`);
  },
  /** A run whose second save hits the quota (put throws QuotaExceededError): the error, then a resume to the end. */
  async quota(runId: string): Promise<{ message: string; resumedAt: number; digest: string }> {
    const store = await IdbTrainStateStore.open(runId, DB, { writer: true });
    const proto = IDBObjectStore.prototype;
    const put = proto.put;
    let puts = 0;
    proto.put = function (this: IDBObjectStore, ...args: Parameters<IDBObjectStore['put']>) {
      if (this.name === 'states' && ++puts > 1) throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
      return put.apply(this, args);
    };
    const t = faultTrainer(store);
    let message = '';
    try {
      await t.run();
    } catch (e) {
      message = (e as Error).message;
    } finally {
      proto.put = put;
      dispose(t);
      store.close();
    }
    return { message, ...(await api.resumeToEnd(runId)) };
  },
};

export type FaultHarnessApi = typeof api;

declare global {
  interface Window {
    __taskscopeFaults?: FaultHarnessApi;
  }
}

window.__taskscopeFaults = api;
