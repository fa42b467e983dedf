import { defineConfig } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { sharedAssetsMirror } from './src/devtools/sharedAssetsMirror.ts';
import { tfjsWasmThreads } from './src/devtools/tfjsWasmThreads.ts';

// `base: './'` makes the built site work from any sub-path (a project page, a folder on a static host).
// COOP/COEP make dev and preview cross-origin isolated, so wasm runs threaded; a static host needs no
// headers: public/coi-serviceworker.js adds them. tfjsWasmThreads fixes the threaded wasm start-up in
// bundled workers (see that file for the cause of the old hang).
const CROSS_ORIGIN_ISOLATION = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' };

export default defineConfig({
  base: './',
  plugins: [svelte(), sharedAssetsMirror(), tfjsWasmThreads()],
  worker: { format: 'es', plugins: () => [tfjsWasmThreads()] },
  // Every dependency the page and its workers import. Vite's start-up scan follows index.html but not the
  // `new Worker(new URL(…))` files, so one imported only in a worker (umap-js, hyparquet, …) would be found on
  // the first visit, re-bundled and the page reloaded (tests/browser/firstVisit.test.ts checks there is none).
  optimizeDeps: {
    include: [
      '@tensorflow/tfjs',
      '@tensorflow/tfjs-backend-webgpu',
      '@tensorflow/tfjs-backend-wasm',
      'comlink',
      '@observablehq/plot',
      'idb',
      'umap-js',
      'hyparquet',
      'fflate',
      'valibot',
    ],
  },
  server: { host: '127.0.0.1', port: 5173, strictPort: false, headers: CROSS_ORIGIN_ISOLATION },
  preview: { host: '127.0.0.1', port: 4173, headers: CROSS_ORIGIN_ISOLATION },
  build: { target: 'es2022', chunkSizeWarningLimit: 4096 },
});
