import { Command } from 'commander';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { registerDataCommands, runDataBuild, runDataCheck } from '../../src/cli/commands/data.ts';
import type { ShardManifest } from '../../src/engine/data/shardStore.ts';
import { assetsDir, glueDir, hubDir, repoRoot } from '../helpers/shared.ts';

const tmp = mkdtempSync(join(tmpdir(), 'taskscope-data-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const model = resolve(assetsDir, 'models/bert-tiny-uncased');

function capture() {
  const lines: string[] = [];
  return { lines, print: (l: string) => lines.push(l) };
}

describe('taskscope data check', () => {
  it('prints counts per split and every malformed row as file:line: reason, exit code 1', async () => {
    const dir = resolve(repoRoot, 'tests/data/malformed/many');
    const { lines, print } = capture();
    expect(await runDataCheck({ task: 'mrpc', dir }, print)).toBe(1);
    const file = resolve(dir, 'MRPC/train.tsv');
    expect(lines).toEqual([
      `MRPC (${dir})`,
      '  train                  2 rows, 4 malformed  (official 3668: differs)  [0 1, 1 1]',
      `    ${file}:3: expected 5 tab-separated columns, found 4`,
      `    ${file}:4: unknown label "2" (expected one of: 0, 1)`,
      `    ${file}:5: expected 5 tab-separated columns, found 1`,
      `    ${file}:6: unknown label "yes" (expected one of: 0, 1)`,
      '  dev              missing',
      '  test             missing',
      '4 malformed rows',
    ]);
  });

  it('exit code 0 on clean files, from a folder or from the Hub layout', async () => {
    const a = capture();
    expect(await runDataCheck({ task: 'RTE', dir: glueDir, split: ['dev', 'test'] }, a.print)).toBe(0);
    expect(a.lines).toEqual([
      `RTE (${glueDir})`,
      '  dev                  277 rows  (official 277)  [not_entailment 131, entailment 146]',
      '  test                3000 rows  (official 3000)',
    ]);
    const b = capture();
    expect(await runDataCheck({ task: 'mnli', hub: hubDir, split: ['dev_matched'] }, b.print)).toBe(0);
    expect(b.lines[1]).toBe('  dev_matched         9815 rows  (official 9815)  [contradiction 3213, neutral 3123, entailment 3479]');
  });

  it('exit code 2 when the source has none of the splits; an error without a source', async () => {
    const { lines, print } = capture();
    expect(await runDataCheck({ task: 'QQP', dir: glueDir }, print)).toBe(2);
    expect(lines.at(-1)).toBe(`no split of QQP found in ${glueDir}`);
    await expect(runDataCheck({ task: 'QQP' }, print)).rejects.toThrow('give --dir <GLUE folder or zip> or --hub [mirror URL or folder]');
  });

  it('is wired into commander: `data check` sets the exit code', async () => {
    const program = new Command('taskscope').exitOverride();
    registerDataCommands(program);
    const write = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const before = process.exitCode;
    try {
      await program.parseAsync([
        'node',
        'taskscope',
        'data',
        'check',
        '--task',
        'rte',
        '--dir',
        resolve(repoRoot, 'tests/data/malformed/columns'),
        '--split',
        'dev',
      ]);
      expect(process.exitCode).toBe(1);
      expect(write.mock.calls.map((c) => String(c[0]))).toContain(
        `    ${resolve(repoRoot, 'tests/data/malformed/columns/RTE/dev.tsv')}:3: expected 4 tab-separated columns, found 3\n`,
      );
    } finally {
      write.mockRestore();
      process.exitCode = before;
    }
  });
});

describe('taskscope data build', () => {
  it('writes checksummed shards to a folder; a second run reuses them', async () => {
    const out = join(tmp, 'shards');
    const a = capture();
    expect(await runDataBuild({ task: 'WNLI', dir: glueDir, model, maxLen: '64', out, shardSize: '256', progress: false }, a.print)).toBe(0);
    expect(a.lines.map((l) => l.replace(/\(\d+\.\d s\)/, '(T)'))).toEqual([
      expect.stringMatching(/^WNLI\/train: 635 rows → 3 shards, 0\.\d\d MB, \d+ rows at 64 tokens \(T\) → .*\/WNLI\/train\/len64-uncased-[0-9a-f]{12}$/),
      expect.stringMatching(/^WNLI\/dev: 71 rows → 1 shards, /),
      expect.stringMatching(/^WNLI\/test: 146 rows → 1 shards, /),
    ]);
    const dir = a.lines[0].split(' → ').at(-1)!;
    const m = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as ShardManifest;
    expect([m.task, m.split, m.rows, m.maxLength, m.complete, m.doLowerCase, m.shards.length]).toEqual(['WNLI', 'train', 635, 64, true, true, 3]);
    expect(existsSync(join(dir, 'shard-00002.bin'))).toBe(true);
    const b = capture();
    expect(await runDataBuild({ task: 'wnli', dir: glueDir, model, maxLen: '64', out, shardSize: '256', split: ['train'], progress: false }, b.print)).toBe(0);
    expect(b.lines).toEqual([expect.stringMatching(/^WNLI\/train: 635 rows → 3 shards, 3 reused, /)]);
    expect(JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')).shards).toEqual(m.shards);
    await expect(runDataBuild({ task: 'WNLI', dir: glueDir, model: tmp, maxLen: '64', out, progress: false }, a.print)).rejects.toThrow(
      `${join(tmp, 'vocab.txt')}: not found (the model folder needs a vocab.txt)`,
    );
    await expect(runDataBuild({ task: 'WNLI', dir: glueDir, model, maxLen: '2', out, progress: false }, a.print)).rejects.toThrow(
      '--max-len must be an integer from 3 to 65535, got "2"',
    );
  });
});
