import type { Experiment } from '../../src/engine/experiment/experimentSchema.ts';
import { setupBrowserBackend, type BackendReport, type BackendRequest } from '../browserBackend.ts';

/** The backends an experiment's `backend` setting tries, in order. */
const ORDERS: Record<Experiment['backend'], BackendRequest> = {
  auto: 'auto',
  webgpu: ['webgpu', 'wasm', 'cpu'],
  wasm: ['wasm', 'cpu'],
  cpu: ['cpu'],
};

let backendKey: string | null = null;
let backendReady: Promise<BackendReport> | null = null;

/** The worker's tfjs backend for `pref`, set up once per request. */
export function ensureBackend(pref: Experiment['backend']): Promise<BackendReport> {
  // Asking again for the active request keeps it (and its tensors). Setups run one after another: two
  // interleaved tf.setBackend calls report each other's backend.
  const key = String(ORDERS[pref]);
  if (backendKey !== key || !backendReady) {
    backendKey = key;
    const previous = backendReady ?? Promise.resolve(null);
    backendReady = previous.catch(() => null).then(() => setupBrowserBackend(ORDERS[pref]));
    backendReady.catch(() => {
      if (backendKey === key) backendKey = null;
    });
  }
  return backendReady;
}
