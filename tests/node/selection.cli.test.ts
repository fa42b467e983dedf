import { afterAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { assetsDir, glueDir, repoRoot } from '../helpers/shared.ts';
import { runSelectCli, type SelectCliOptions } from '../../src/cli/commands/select.ts';
import type { FastmtlReasons } from '../../src/engine/selection/fastmtl/fastmtlSelect.ts';
import type { RandomReasons } from '../../src/engine/selection/randomSelect.ts';
import type { SelectionResult } from '../../src/engine/selection/selectionResult.ts';

const run = promisify(execFile);
const BIN = resolve(repoRoot, 'bin/taskscope.mjs');
const VOCAB = resolve(assetsDir, 'models/bert-tiny-uncased');
const ROWS = 24;

/** A tiny random model over the real GLUE files, first 24 training rows of each task, every stage 1 epoch. */
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function workdir() {
  const dir = mkdtempSync(join(tmpdir(), 'ts-select-'));
  dirs.push(dir);
  const config = join(dir, 'exp.json');
  writeFileSync(
    config,
    JSON.stringify({
      name: 'select-test',
      tasks: [
        { name: 'RTE', maxTrainRows: ROWS },
        { name: 'MRPC', maxTrainRows: ROWS },
        { name: 'WNLI', maxTrainRows: ROWS },
      ],
      model: { kind: 'random', layers: 1, hidden: 16, heads: 2, intermediate: 32, vocab: 'bert-base-uncased' },
      data: { kind: 'glue-dir', path: glueDir },
      maxLength: 32,
      evalBatchSize: 64,
      selection: { tdPerTask: 8, stages: { all: { epochs: 1, batchSize: 8 } } },
    }),
  );
  return { dir, config, cache: join(dir, 'cache') };
}

/** The uids of a task's first n training rows: the `index` column where the file has one (RTE, WNLI), else the row number (MRPC). */
function firstUids(task: string, n: number): string[] {
  const lines = readFileSync(join(glueDir, task, 'train.tsv'), 'utf8').split('\n');
  const indexed = lines[0].startsWith('index\t');
  return lines.slice(1, n + 1).map((l, i) => (indexed ? l.split('\t')[0] : String(i)));
}

const quiet = () => {};

describe('taskscope select', () => {
  it("random: NUM drawn from the rows FastMTL's TD would not use, written as JSON", async () => {
    const w = workdir();
    const out = join(w.dir, 'random.json');
    const o: SelectCliOptions = {
      method: 'random',
      target: 'rte',
      config: w.config,
      out,
      backend: 'cpu',
      vocab: VOCAB,
      cache: w.cache,
      num: '10',
      seed: '3',
      train: false,
    };
    const r = await runSelectCli(o, quiet);
    const written = JSON.parse(readFileSync(out, 'utf8')) as SelectionResult<RandomReasons>;
    expect(written).toEqual(JSON.parse(JSON.stringify(r)));
    expect(written.method).toBe('random');
    expect(written.target).toBe('RTE');
    expect(written.reasons.pools).toEqual({
      MRPC: { candidates: ROWS - 8, chosen: written.examples!.MRPC?.length ?? 0 },
      WNLI: { candidates: ROWS - 8, chosen: written.examples!.WNLI?.length ?? 0 },
    });
    expect(Object.values(written.examples!).flat()).toHaveLength(10);
    const wnli = new Set(firstUids('WNLI', ROWS));
    for (const u of written.examples!.WNLI ?? []) expect(wnli.has(u)).toBe(true);
    expect(written.training).toBeUndefined();
  });

  it('fastmtl: selects NUM rows of the real GLUE training files and trains target + selection', async () => {
    const w = workdir();
    const out = join(w.dir, 'fastmtl.json');
    const r = (await runSelectCli(
      { method: 'fastmtl', target: 'RTE', config: w.config, out, backend: 'wasm', vocab: VOCAB, cache: w.cache, num: '6' },
      quiet,
    )) as SelectionResult<FastmtlReasons>;
    const chosen = Object.entries(r.examples!);
    expect(chosen.flatMap(([, u]) => u)).toHaveLength(6);
    for (const [task, uids] of chosen) {
      const known = new Set(firstUids(task, ROWS));
      for (const u of uids) expect(known.has(u)).toBe(true);
    }
    expect(r.reasons.tdTraining.rows).toEqual({ RTE: 8, MRPC: 8, WNLI: 8 });
    expect(r.reasons.tdTraining.examplesProcessed).toBe(24);
    expect(r.reasons.scoringCost.rowsScored).toBe(2 * (ROWS - 8));
    expect(r.training!.rows.RTE).toBe(ROWS);
    expect(r.training!.examplesProcessed).toBe(ROWS + 6);
    expect(r.model).toEqual({ layers: 1, heads: 2, hidden: 16 });
    expect(JSON.parse(readFileSync(out, 'utf8')).method).toBe('fastmtl');
  });

  it('names bad flags and files', async () => {
    const w = workdir();
    const base: SelectCliOptions = { method: 'random', target: 'RTE', config: w.config, backend: 'cpu', vocab: VOCAB, cache: w.cache };
    await expect(runSelectCli({ ...base, method: 'best' }, quiet)).rejects.toThrow(
      '--method must be one of gradts-trial, gradts-fg, fastmtl, random, got "best"',
    );
    await expect(runSelectCli({ ...base, target: 'CoLA' }, quiet)).rejects.toThrow(
      "selection: the target CoLA is not one of the experiment's tasks (RTE, MRPC, WNLI)",
    );
    await expect(runSelectCli({ ...base, num: '-2' }, quiet)).rejects.toThrow('--num must be an integer >= 0, got "-2"');
    await expect(runSelectCli({ ...base, config: join(w.dir, 'nope.json') }, quiet)).rejects.toThrow(`--config: ${join(w.dir, 'nope.json')}: not found`);
    await expect(runSelectCli({ ...base, method: 'gradts-fg', trial: w.config }, quiet)).rejects.toThrow(
      `--trial: ${w.config} is not a gradts-trial selection result`,
    );
  });

  it('is registered in the CLI binary', async () => {
    const w = workdir();
    const out = join(w.dir, 'bin.json');
    await run(
      process.execPath,
      [
        BIN,
        'select',
        '--method',
        'random',
        '--target',
        'MRPC',
        '--config',
        w.config,
        '--out',
        out,
        '--backend',
        'cpu',
        '--vocab',
        VOCAB,
        '--cache',
        w.cache,
        '--num',
        '4',
        '--no-train',
      ],
      { cwd: repoRoot },
    );
    const r = JSON.parse(readFileSync(out, 'utf8')) as SelectionResult;
    expect(r.target).toBe('MRPC');
    expect(r.chosen.every((t) => t === 'RTE' || t === 'WNLI')).toBe(true);
    expect(Object.values(r.examples!).flat()).toHaveLength(4);
  });
});
