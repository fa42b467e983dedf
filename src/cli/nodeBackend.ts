import '@tensorflow/tfjs-backend-wasm';
import { initBackend, type BackendName } from '../engine/runtime/backend.ts';

export const NODE_BACKENDS = ['wasm', 'cpu'] as const;

/** Node has the cpu backend built in and wasm from node_modules (no tfjs-node: it cannot install here). */
export async function initNodeBackend(name: string): Promise<BackendName> {
  if (!(NODE_BACKENDS as readonly string[]).includes(name)) {
    throw new Error(`--backend must be one of ${NODE_BACKENDS.join(', ')}, got "${name}"`);
  }
  const choice = await initBackend([name as BackendName]);
  return choice.name;
}
