import { execFile } from 'node:child_process';
import { mkdtemp, mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliBundle, freshBundle } from '../../bin/cliBundle.mjs';
import { Command } from 'commander';
import { COMMANDS, commandOf } from '../../src/cli/main.ts';
import { repoRoot } from '../helpers/shared.ts';

const run = promisify(execFile);
const BIN = resolve(repoRoot, 'bin/taskscope.mjs');

describe('taskscope --version', () => {
  it('prints the version of package.json, from the bundle and from the sources', async () => {
    const { version } = JSON.parse(await readFile(resolve(repoRoot, 'package.json'), 'utf8'));
    expect(version).toMatch(/^\d+\.\d+\.\d+/);
    for (const env of [{}, { TASKSCOPE_FROM_SOURCE: '1' }]) {
      const { stdout, stderr } = await run(process.execPath, [BIN, '--version'], { cwd: tmpdir(), env: { ...process.env, ...env } });
      expect(stdout).toBe(`${version}\n`);
      expect(stderr).toBe('');
    }
  });
});

describe('commands loaded at start-up', () => {
  it('only the command argv runs; none for the overall help, --version or an unknown name', () => {
    const argv = (...a: string[]) => ['node', 'taskscope', ...a];
    expect(commandOf(argv('encode', '--model', 'm'))).toBe('encode');
    expect(commandOf(argv('data', 'check', '--task', 'RTE'))).toBe('data');
    expect(commandOf(argv('train', '--help'))).toBe('train');
    expect(commandOf(argv('help', 'train'))).toBe('train');
    expect(commandOf(argv('--version'))).toBeNull();
    expect(commandOf(argv('--help'))).toBeNull();
    expect(commandOf(argv())).toBeNull();
    expect(commandOf(argv('help'))).toBeNull();
    expect(commandOf(argv('trian'))).toBeNull();
  });

  it("the overall help's summaries are the commands' own descriptions", async () => {
    expect(Object.keys(COMMANDS)).toEqual([
      'encode',
      'data',
      'pretrain',
      'release',
      'select',
      'train',
      'pipeline',
      'study',
      'prune',
      'assets',
      'export-torch',
      'import-run',
    ]);
    for (const [name, entry] of Object.entries(COMMANDS)) {
      const program = new Command('taskscope');
      (await entry.load())(program);
      expect(program.commands.map((c) => c.name())).toEqual([name]);
      expect(program.commands[0].description()).toBe(entry.summary);
    }
  });

  it('taskscope --help lists every command with its summary', async () => {
    const { stdout } = await run(process.execPath, [BIN, '--help'], { cwd: tmpdir() });
    for (const [name, entry] of Object.entries(COMMANDS)) {
      expect(stdout).toMatch(new RegExp(`^  ${name} +${entry.summary.split(' ')[0]}`, 'm'));
    }
  });
});

describe('the CLI bundle (bin/cliBundle.mjs)', () => {
  let root: string;
  beforeAll(async () => {
    // A stand-in package: src/cli/main.ts importing a second module, built the way the real CLI is.
    root = await mkdtemp(join(tmpdir(), 'taskscope-bundle-'));
    await mkdir(join(root, 'src/cli'), { recursive: true });
    await writeFile(join(root, 'src/cli/main.ts'), "import { word } from './word.ts';\nexport const main = (): string => word;\n");
    await writeFile(join(root, 'src/cli/word.ts'), "export const word: string = 'first';\n");
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  const mainOf = async (file: string) => ((await import(`${file}?t=${Date.now()}`)) as { main: () => string }).main();

  it('is built on first use, reused while the sources are unchanged, rebuilt when one of them changes', async () => {
    expect(freshBundle(root)).toBeNull();
    const first = await cliBundle(root);
    expect(first).not.toBeNull();
    expect(await mainOf(first!)).toBe('first');
    expect(freshBundle(root)).toBe(first);
    expect(await cliBundle(root)).toBe(first);

    // An edit to an imported module (not the entry) makes the bundle stale.
    await new Promise((r) => setTimeout(r, 20));
    await writeFile(join(root, 'src/cli/word.ts'), "export const word: string = 'second';\n");
    expect(freshBundle(root)).toBeNull();
    const second = await cliBundle(root);
    expect(second).not.toBe(first);
    expect(await mainOf(second!)).toBe('second');
    expect(freshBundle(root)).toBe(second);
    const manifest = JSON.parse(await readFile(join(root, 'dist-cli/manifest.json'), 'utf8'));
    expect(Object.keys(manifest.inputs).sort()).toEqual(['src/cli/main.ts', 'src/cli/word.ts']);
    // The previous build stays (a process started from it may still load its chunks).
    expect((await readdir(join(root, 'dist-cli'))).filter((d) => d.startsWith('build-'))).toHaveLength(2);

    // A deleted source file makes it stale too.
    await rm(join(root, 'src/cli/word.ts'));
    expect(freshBundle(root)).toBeNull();
    // And what cannot be built gives null (bin/taskscope.mjs then runs the sources through tsx).
    expect(await cliBundle(root)).toBeNull();
  });
});
