import * as Comlink from 'comlink';
import type { ComputeApi } from './compute.worker.ts';

/**
 * Test-only page: starts compute workers (tests/harness/compute.worker.ts) by name and forwards calls to
 * them, so one page can compare e.g. a 1-thread and a 2-thread wasm worker side by side.
 */

const workers = new Map<string, Comlink.Remote<ComputeApi>>();

type Method = keyof ComputeApi;

export const computeHarness = {
  isolated: () => crossOriginIsolated,
  spawn(name: string): void {
    if (workers.has(name)) throw new Error(`compute worker ${name} already exists`);
    workers.set(name, Comlink.wrap<ComputeApi>(new Worker(new URL('./compute.worker.ts', import.meta.url), { type: 'module', name })));
  },
  call(name: string, method: Method, args: unknown[]): Promise<unknown> {
    const w = workers.get(name);
    if (!w) throw new Error(`no compute worker ${name}`);
    return (w[method] as unknown as (...a: unknown[]) => Promise<unknown>)(...args);
  },
};

(window as unknown as { __taskscopeCompute: typeof computeHarness }).__taskscopeCompute = computeHarness;
