import { defineConfig } from 'vitest/config';

// Two projects: `node` runs the engine on the cpu and wasm backends; `browser` drives Debian's Chromium
// through playwright-core against a Vite server, with the WebGPU backend (SwiftShader here).
export default defineConfig({
  test: {
    // Stops the run with one line naming `npm run assets` when the GLUE files or fixtures are absent.
    globalSetup: ['tests/helpers/assetsSetup.ts'],
    projects: [
      {
        test: {
          name: 'node',
          include: ['tests/node/**/*.test.ts', 'tests/hostile/**/*.test.ts'],
          environment: 'node',
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
      {
        test: {
          name: 'browser',
          include: ['tests/browser/**/*.test.ts'],
          environment: 'node',
          testTimeout: 600_000,
          hookTimeout: 300_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
