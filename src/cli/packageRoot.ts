import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * The folder of taskscope's package.json, found by walking up from this module. The CLI runs either from the
 * sources (src/cli/) or from the bundle that bin/taskscope.mjs builds (dist-cli/<build>/), so a fixed relative
 * path to the package root would be right in only one of them.
 */
export function packageRoot(from: string = import.meta.dirname): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (existsSync(file) && (JSON.parse(readFileSync(file, 'utf8')) as { name?: string }).name === 'taskscope') return dir;
    if (dirname(dir) === dir) throw new Error(`no package.json of taskscope above ${from}`);
  }
}

export function packageVersion(root: string = packageRoot()): string {
  return (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;
}

/** The command-line entry point, for runs started as child processes. */
export const cliEntry = (root: string = packageRoot()) => join(root, 'bin', 'taskscope.mjs');
