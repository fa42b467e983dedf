#!/usr/bin/env node
// Runs the CLI from the bundle that cliBundle.mjs keeps in step with src/ (seconds faster to start than
// transpiling the TypeScript on every call); TASKSCOPE_FROM_SOURCE=1, or a bundle that cannot be built, runs the
// sources through tsx's loader instead. Either way the CLI and the browser share one source tree.
import { pathToFileURL } from 'node:url';
import { cliBundle } from './cliBundle.mjs';

const bundle = process.env.TASKSCOPE_FROM_SOURCE === '1' ? null : await cliBundle();
let main;
if (bundle) {
  ({ main } = await import(pathToFileURL(bundle).href));
} else {
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import('../src/cli/main.ts'));
}
await main(process.argv);
