import { defineConfig } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { sharedAssetsMirror } from './src/devtools/sharedAssetsMirror.ts';

// `base: './'` makes the built site work from any sub-path (a project page, a folder on a static host).
// No COOP/COEP headers: threaded wasm hangs inside a module worker (docs/architecture.md, tfjs trap 4), and a static
// host must not need special headers.
export default defineConfig({
  base: './',
  plugins: [svelte(), sharedAssetsMirror()],
  worker: { format: 'es' },
  // Every dependency the page and its workers import. Vite's start-up scan follows index.html but not the
  // `new Worker(new URL(…))` files, so one imported only in a worker (umap-js, hyparquet, …) would be found on
  // the first visit, re-bundled and the page reloaded (tests/browser/firstVisit.test.ts checks there is none).
  optimizeDeps: {
    include: [
      '@tensorflow/tfjs', '@tensorflow/tfjs-backend-webgpu', '@tensorflow/tfjs-backend-wasm', 'comlink', '@observablehq/plot', 'idb',
      'umap-js', 'hyparquet', 'fflate', 'valibot',
    ],
  },
  server: { host: '127.0.0.1', port: 5173, strictPort: false },
  preview: { host: '127.0.0.1', port: 4173 },
  build: { target: 'es2022', chunkSizeWarningLimit: 4096 },
});
