import * as Comlink from 'comlink';
import type { ModelWorkerApi } from '../../../workers/model.worker.ts';

/** The model worker behind a comlink proxy. Every result is plain data (the UI thread holds no tensors). */
export interface ModelClient {
  api: Comlink.Remote<ModelWorkerApi>;
  terminate(): void;
}

export function createModelClient(): ModelClient {
  const worker = new Worker(new URL('../../../workers/model.worker.ts', import.meta.url), { type: 'module', name: 'taskscope-model' });
  const api = Comlink.wrap<ModelWorkerApi>(worker);
  return {
    api,
    terminate() {
      api[Comlink.releaseProxy]();
      worker.terminate();
    },
  };
}

/**
 * A URL typed by the user, made absolute against the page: the worker resolves relative URLs against its
 * own script URL, and the page may live under a sub-path.
 */
export function absoluteModelUrl(input: string, base = document.baseURI): string {
  const trimmed = input.trim();
  if (!trimmed) throw new Error('model URL is empty');
  try {
    return new URL(trimmed, base).href;
  } catch {
    throw new Error(`not a URL: ${trimmed}`);
  }
}

/** A readable message from anything a comlink call may reject with. */
export function errorMessage(e: unknown): string {
  if (e instanceof Error) return e.message;
  return String(e);
}
