import { readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/shared.ts';

/**
 * The engine's import rules (docs/architecture.md): nothing from the UI, the workers, the CLI or svelte; Node
 * built-ins only under src/engine/platform/node/ and idb only under src/engine/platform/browser/.
 */

const NODE_BUILTINS = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));
const UPPER_LAYERS = ['src/ui/', 'src/urlState/', 'src/cli/', 'src/App.svelte', 'src/main.ts', 'workers/'];

/** Every module specifier of a source text: static imports and re-exports, side-effect imports, import(). */
function specifiers(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(
    /(?:^|[\s;])(?:import|export)\s[^'"`;]*?from\s*['"]([^'"]+)['"]|(?:^|[\s;])import\s*['"]([^'"]+)['"]|\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/gm,
  )) {
    out.push(m[1] ?? m[2] ?? m[3]);
  }
  return out;
}

/** The rule a file (repo-relative path) breaks by importing `spec`, or null. */
function violation(file: string, spec: string): string | null {
  const inNode = file.startsWith('src/engine/platform/node/');
  const inBrowser = file.startsWith('src/engine/platform/browser/');
  if (spec === 'svelte' || spec.startsWith('svelte/') || spec.endsWith('.svelte')) return 'svelte in the engine';
  if (NODE_BUILTINS.has(spec.split('/')[0]) || NODE_BUILTINS.has(spec)) return inNode ? null : 'Node built-in outside src/engine/platform/node/';
  if (spec === 'idb' || spec.startsWith('idb/')) return inBrowser ? null : 'idb outside src/engine/platform/browser/';
  if (spec.startsWith('.')) {
    const target = relative(repoRoot, resolve(repoRoot, dirname(file), spec))
      .split(sep)
      .join('/');
    const layer = UPPER_LAYERS.find((l) => target === l || target.startsWith(l));
    if (layer) return `imports ${layer} (an upper layer)`;
    if (!target.startsWith('src/engine/') && !target.startsWith('datasets/')) return `imports ${target}, outside the engine`;
  }
  return null;
}

function engineFiles(dir = resolve(repoRoot, 'src/engine')): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? engineFiles(join(dir, e.name)) : /\.(ts|js|svelte)$/.test(e.name) ? [relative(repoRoot, join(dir, e.name)).split(sep).join('/')] : [],
  );
}

describe('engine layering', () => {
  it('no engine file imports the UI, workers, CLI or svelte, or platform modules outside src/engine/platform/', () => {
    const files = engineFiles();
    expect(files.length).toBeGreaterThan(100);
    const broken = files
      .flatMap((f) => specifiers(readFileSync(resolve(repoRoot, f), 'utf8')).map((s) => [f, s, violation(f, s)] as const))
      .filter(([, , why]) => why)
      .map(([f, s, why]) => `${f}: '${s}': ${why}`);
    expect(broken).toEqual([]);
  });

  it('catches each kind of violation', () => {
    const src = [
      "import { x } from '../../ui/state/jobs.svelte.ts';",
      "import type { Y } from '../../../workers/trainer/types.ts';",
      "export { z } from '../../cli/main.ts';",
      "import { mount } from 'svelte';",
      "const fs = await import('node:fs');",
      "import { join } from 'path';",
      "import { openDB } from 'idb';",
      "import { ok } from './fine.ts';",
      "import '../../../datasets/glueTasks.ts';",
    ].join('\n');
    const file = 'src/engine/data/example.ts';
    expect(specifiers(src).map((s) => violation(file, s))).toEqual([
      'imports src/ui/ (an upper layer)',
      'imports workers/ (an upper layer)',
      'imports src/cli/ (an upper layer)',
      'svelte in the engine',
      'Node built-in outside src/engine/platform/node/',
      'Node built-in outside src/engine/platform/node/',
      'idb outside src/engine/platform/browser/',
      null,
      null,
    ]);
    expect(violation('src/engine/platform/node/files.ts', 'node:fs/promises')).toBeNull();
    expect(violation('src/engine/platform/browser/store.ts', 'idb')).toBeNull();
    expect(violation('src/engine/platform/browser/store.ts', 'node:fs')).toBe('Node built-in outside src/engine/platform/node/');
  });
});
