import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, resolve } from 'node:path';
import type { Plugin } from 'vite';

/**
 * Makes threaded tfjs-backend-wasm start in a bundled (minified) worker.
 *
 * tfjs 4.22 hands each pthread worker its Emscripten factory as `wasmFactoryThreadedSimd.toString()`
 * (dist/backend_wasm.js, `mainScriptUrlOrBlob`). Serialising a function keeps its body but not its closure:
 * the factory reads `_scriptDir` from the IIFE around it, and once a minifier has renamed that variable
 * (to `e`) and dropped its `typeof` guard, every pthread worker throws `ReferenceError: e is not defined`
 * while loading, never reports "loaded", and `tf.setBackend('wasm')` waits forever. An unminified dev
 * pre-bundle keeps the guard, which is why the hang only showed in built sites.
 *
 * The fix hands the pthread workers the package's own, self-contained Emscripten script
 * (wasm-out/tfjs-backend-wasm-threaded-simd.js, which defines `WasmBackendModuleThreadedSimd` itself)
 * instead of the serialised function. It applies to the build and to the dev pre-bundle alike.
 */

const TARGET = /[\\/]@tensorflow[\\/]tfjs-backend-wasm[\\/]dist[\\/]backend_wasm\.js$/;
const SERIALISED = /new Blob\(\[`var WasmBackendModuleThreadedSimd = ` \+\s*wasmFactoryThreadedSimd\.toString\(\)\]/;

function threadedScriptSource(): string {
  const require = createRequire(import.meta.url);
  const pkgDir = dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json'));
  return readFileSync(resolve(pkgDir, 'wasm-out/tfjs-backend-wasm-threaded-simd.js'), 'utf8');
}

/** Rewrites tfjs-backend-wasm's pthread main script; throws if the tfjs source no longer has the expected line. */
export function patchBackendWasm(code: string, id: string): string | null {
  if (!TARGET.test(id.split('?')[0]!)) return null;
  if (!SERIALISED.test(code)) {
    throw new Error(`tfjsWasmThreads: ${id} no longer serialises wasmFactoryThreadedSimd; re-check the threaded-wasm fix for this tfjs version`);
  }
  return code.replace(SERIALISED, `new Blob([${JSON.stringify(threadedScriptSource())}]`);
}

/** The rewrite as a plain transform, for Vite's dependency pre-bundler (dev server), which skips Vite plugins. */
const depsPlugin = {
  name: 'taskscope-tfjs-wasm-threads-deps',
  transform(code: string, id: string) {
    const out = patchBackendWasm(code, id);
    return out === null ? null : { code: out, map: null };
  },
};

export function tfjsWasmThreads(): Plugin {
  return {
    name: 'taskscope-tfjs-wasm-threads',
    enforce: 'pre',
    config: () => ({ optimizeDeps: { rolldownOptions: { plugins: [depsPlugin] } } }),
    transform(code, id) {
      const out = patchBackendWasm(code, id);
      return out === null ? null : { code: out, map: null };
    },
  };
}
