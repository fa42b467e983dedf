import * as tf from '@tensorflow/tfjs';

export type BackendName = 'webgpu' | 'wasm' | 'cpu';

export interface BackendChoice {
  name: BackendName;
  /** Why an earlier backend in the order was not used (shown to the user). */
  fallbackReason?: string;
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e) => {
        clearTimeout(t);
        reject(e);
      },
    );
  });
}

/**
 * Activates the first backend of `order` that initialises. Backends must already be registered (the
 * browser worker imports the webgpu/wasm packages; the Node CLI imports wasm). A hang becomes an error
 * after `timeoutMs`, so a backend that never finishes initialising (as threaded wasm once did in built sites,
 * src/devtools/tfjsWasmThreads.ts) shows up as an error instead of a page that waits forever.
 */
export async function initBackend(order: BackendName[], opts: { timeoutMs?: number } = {}): Promise<BackendChoice> {
  const reasons: string[] = [];
  for (const name of order) {
    try {
      const ok = await withTimeout(tf.setBackend(name), opts.timeoutMs ?? 60_000, `tf.setBackend('${name}')`);
      await tf.ready();
      if (ok && tf.getBackend() === name) {
        return { name, fallbackReason: reasons.length ? reasons.join('; ') : undefined };
      }
      reasons.push(`${name}: not available`);
    } catch (e) {
      reasons.push(`${name}: ${(e as Error).message}`);
    }
  }
  throw new Error(`no tfjs backend could be initialised (${reasons.join('; ')})`);
}
