import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { expect, test } from 'vitest';
import { patchBackendWasm } from '../../src/devtools/tfjsWasmThreads.ts';
import { repoRoot } from '../helpers/shared.ts';

const id = resolve(repoRoot, 'node_modules/@tensorflow/tfjs-backend-wasm/dist/backend_wasm.js');
const source = readFileSync(id, 'utf8');

test("the pthread main script becomes the package's own Emscripten script instead of a serialised closure", () => {
  const out = patchBackendWasm(source, id)!;
  expect(out).not.toContain('wasmFactoryThreadedSimd.toString()');
  const script = readFileSync(resolve(repoRoot, 'node_modules/@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm-threaded-simd.js'), 'utf8');
  expect(out).toContain(`factoryConfig.mainScriptUrlOrBlob = new Blob([${JSON.stringify(script)}], { type: 'text/javascript' });`);
  // The script defines the global the pthread worker calls, with _scriptDir inside its own closure.
  expect(script).toMatch(/^\s*var WasmBackendModuleThreadedSimd = \(\(\) => \{\s*var _scriptDir = /);
});

test('other modules pass through; a tfjs whose source changed fails the build loudly', () => {
  expect(patchBackendWasm(source, resolve(repoRoot, 'node_modules/@tensorflow/tfjs-backend-wasm/dist/index.js'))).toBeNull();
  expect(() => patchBackendWasm('export const x = 1;', id)).toThrow(
    `tfjsWasmThreads: ${id} no longer serialises wasmFactoryThreadedSimd; re-check the threaded-wasm fix for this tfjs version`,
  );
});
