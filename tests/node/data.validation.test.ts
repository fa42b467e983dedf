import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { getTask } from '../../datasets/glueTasks.ts';
import type { SplitName } from '../../datasets/types.ts';
import { checkTask } from '../../src/engine/data/checkSplits.ts';
import { DataError, formatIssue, type DataIssue } from '../../src/engine/data/dataError.ts';
import { memoryFileProvider } from '../../src/engine/data/fileProvider.ts';
import { nodeZipProvider, tsvSourceFromPath } from '../../src/engine/platform/node/nodeFiles.ts';
import { ParquetSource, memoryParquetProvider } from '../../src/engine/data/parquetSource.ts';
import { TsvSource } from '../../src/engine/data/tsvSource.ts';
import type { DataSource } from '../../src/engine/data/types.ts';
import { readFileSync } from 'node:fs';
import { hubDir, repoRoot } from '../helpers/shared.ts';

const bad = (c: string) => resolve(repoRoot, 'tests/data/malformed', c);
const zips = resolve(repoRoot, 'tests/data/zips');

async function drain(source: DataSource, task: string, split: string): Promise<number> {
  let n = 0;
  for await (const _ of source.open(getTask(task), split as SplitName)) n++;
  return n;
}

async function collect(source: DataSource, task: string, split: string): Promise<{ rows: number; issues: string[] }> {
  const issues: DataIssue[] = [];
  let rows = 0;
  for await (const _ of source.open(getTask(task), split as SplitName, { onMalformed: 'collect', issues })) rows++;
  return { rows, issues: issues.map(formatIssue) };
}

/** [case folder, task, split, file inside the case, first error, every issue in collect mode, good rows] */
const cases: [string, string, string, string, string, string[], number][] = [
  [
    'columns',
    'RTE',
    'dev',
    'RTE/dev.tsv',
    ':3: expected 4 tab-separated columns, found 3',
    [':3: expected 4 tab-separated columns, found 3', ':5: expected 4 tab-separated columns, found 5'],
    2,
  ],
  [
    'label',
    'MNLI',
    'dev_matched',
    'MNLI/dev_matched.tsv',
    ':3: unknown label "maybe" (expected one of: contradiction, neutral, entailment)',
    [':3: unknown label "maybe" (expected one of: contradiction, neutral, entailment)'],
    2,
  ],
  [
    'score',
    'STS-B',
    'dev',
    'STS-B/dev.tsv',
    ':2: score "high" is not a number',
    [':2: score "high" is not a number', ':3: score 5.5 is outside 0–5', ':4: score -0.25 is outside 0–5', ':6: score "" is not a number'],
    1,
  ],
  ['nul', 'SST-2', 'dev', 'SST-2/dev.tsv', ':3: contains a NUL byte (binary file?)', [':3: contains a NUL byte (binary file?)'], 0],
  ['utf8', 'CoLA', 'dev', 'CoLA/dev.tsv', ':2: not valid UTF-8 text (binary file?)', [':2: not valid UTF-8 text (binary file?)'], 0],
  ['empty', 'QNLI', 'dev', 'QNLI/dev.tsv', ': empty file', [': empty file'], 0],
  [
    'truncated',
    'QQP',
    'dev',
    'QQP/dev.tsv',
    ':4: file ends mid-row: the last line has 4 of 6 columns and no final newline (truncated file?)',
    [':4: file ends mid-row: the last line has 4 of 6 columns and no final newline (truncated file?)'],
    2,
  ],
  [
    'header',
    'WNLI',
    'train',
    'WNLI/train.tsv',
    ':1: unexpected header "index\\tsentence1\\tsentence2" (3 columns); WNLI train.tsv starts with "index\\tsentence1\\tsentence2\\tlabel" (4 columns)',
    [':1: unexpected header "index\\tsentence1\\tsentence2" (3 columns); WNLI train.tsv starts with "index\\tsentence1\\tsentence2\\tlabel" (4 columns)'],
    0,
  ],
  ['headeronly', 'RTE', 'train', 'RTE/train.tsv', ': no rows after the header', [': no rows after the header'], 0],
  [
    'many',
    'MRPC',
    'train',
    'MRPC/train.tsv',
    ':3: expected 5 tab-separated columns, found 4',
    [
      ':3: expected 5 tab-separated columns, found 4',
      ':4: unknown label "2" (expected one of: 0, 1)',
      ':5: expected 5 tab-separated columns, found 1',
      ':6: unknown label "yes" (expected one of: 0, 1)',
    ],
    2,
  ],
];

describe('malformed TSV files give errors naming file, line and reason', () => {
  it.each(cases)('%s: %s %s', async (c, task, split, file, first, all, good) => {
    const path = resolve(bad(c), file);
    const src = await tsvSourceFromPath(bad(c));
    const err = await drain(src, task, split).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(DataError);
    expect((err as Error).message).toBe(`${path}${first}`);
    const r = await collect(src, task, split);
    expect(r.issues).toEqual(all.map((s) => `${path}${s}`));
    expect(r.rows).toBe(good);
  });

  it('a last line without a newline is fine when it has every column (like the real CoLA dev.tsv)', async () => {
    const r = await collect(await tsvSourceFromPath(bad('lastline')), 'CoLA', 'dev');
    expect(r).toEqual({ rows: 2, issues: [] });
  });

  it('finds the line of an invalid UTF-8 byte in a later chunk, and handles a character split across chunks', async () => {
    const enc = new TextEncoder();
    const head = enc.encode('sentence\tlabel\nna\u00efve caf\u00e9 \u2013 ok\t1\n');
    // Split inside the 3-byte "–" so the streaming decoder must carry bytes over.
    const cut = head.indexOf(0xe2) + 1;
    const chunks = [
      head.subarray(0, cut),
      head.subarray(cut),
      enc.encode('fine\t0\nbroken \xff'.replace('\xff', '')),
      new Uint8Array([0xff, 0x09, 0x31, 0x0a]),
    ];
    const stream = () =>
      new ReadableStream<Uint8Array>({
        start(c) {
          for (const ch of chunks) c.enqueue(ch);
          c.close();
        },
      });
    const src = new TsvSource({
      describe: () => 'mem',
      exists: async () => true,
      open: async (p) => ({ stream: stream(), name: `mem/${p}` }),
    });
    const issues: DataIssue[] = [];
    const rows: string[] = [];
    for await (const e of src.open(getTask('SST-2'), 'dev', { onMalformed: 'collect', issues })) rows.push(e.textA);
    expect(rows).toEqual(['na\u00efve caf\u00e9 \u2013 ok', 'fine']);
    expect(issues.map(formatIssue)).toEqual(['mem/SST-2/dev.tsv:4: not valid UTF-8 text (binary file?)']);
  });

  it('stops at a line too long to be a TSV row instead of growing a string without bound', async () => {
    const enc = new TextEncoder();
    let sent = 0;
    // An endless newline-free stream in 64 KiB chunks: without the limit this would never end.
    const stream = new ReadableStream<Uint8Array>({
      pull(c) {
        c.enqueue(sent++ === 0 ? enc.encode('sentence\tlabel\n') : enc.encode('x'.repeat(65536)));
      },
    });
    const src = new TsvSource({ describe: () => 'mem', exists: async () => true, open: async () => ({ stream, name: 'mem/SST-2/dev.tsv' }) });
    await expect(drain(src, 'SST-2', 'dev')).rejects.toThrow('mem/SST-2/dev.tsv:2: line longer than 4194304 characters (the limit per line; not a TSV file?)');
    // 1 header chunk + 65 chunks to pass 4 MiB, plus at most one the stream pulled ahead.
    expect(sent).toBeGreaterThanOrEqual(66);
    expect(sent).toBeLessThanOrEqual(67);
  });

  it('strips a BOM and CRLF line ends', async () => {
    const src = new TsvSource(memoryFileProvider({ 'SST-2/dev.tsv': '\uFEFFsentence\tlabel\r\ngood film\t1\r\nbad film\t0\r\n' }));
    const rows = [];
    for await (const e of src.open(getTask('SST-2'), 'dev')) rows.push([e.textA, e.label]);
    expect(rows).toEqual([
      ['good film', 1],
      ['bad film', 0],
    ]);
  });

  it('data check lists the malformed rows of every split and keeps counting', async () => {
    const res = await checkTask(await tsvSourceFromPath(bad('many')), getTask('MRPC'));
    expect(res.map((r) => [r.split, r.file === null ? null : 'found', r.rows, r.issues.length])).toEqual([
      ['train', 'found', 2, 4],
      ['dev', null, 0, 0],
      ['test', null, 0, 0],
    ]);
    expect(res[0].labelCounts).toEqual([1, 1]);
  });
});

describe('zips with the wrong layout', () => {
  it('names the zip and what was expected', async () => {
    const path = resolve(zips, 'wrong-layout.zip');
    const src = new TsvSource(nodeZipProvider(path));
    await expect(drain(src, 'SST-2', 'train')).rejects.toThrow(
      `${path}: no GLUE task folder found: expected paths like SST-2/train.tsv or glue_data/SST-2/train.tsv (one folder per task, as download_glue_data.py writes them); it holds: notes/readme.txt, data/train.csv`,
    );
    const res = await checkTask(src, getTask('SST-2'), ['train']);
    expect(res[0].issues.map(formatIssue)).toEqual([
      `${path}: no GLUE task folder found: expected paths like SST-2/train.tsv or glue_data/SST-2/train.tsv (one folder per task, as download_glue_data.py writes them); it holds: notes/readme.txt, data/train.csv`,
    ]);
  });

  it('a file that is not a zip says so', async () => {
    const path = resolve(zips, 'not-a-zip.zip');
    await expect(drain(new TsvSource(nodeZipProvider(path)), 'RTE', 'dev')).rejects.toThrow(`${path}: not a zip archive, or an empty one (no entries found)`);
  });
});

describe('Parquet validation', () => {
  const rte = readFileSync(resolve(hubDir, 'datasets/nyu-mll/glue/resolve/main/rte/validation-00000-of-00001.parquet'));
  const rel = 'datasets/nyu-mll/glue/resolve/main/rte/validation-00000-of-00001.parquet';

  it('label names in the file that the registry does not map are an error', async () => {
    const task = {
      ...getTask('RTE'),
      hub: {
        ...getTask('RTE').hub,
        classLabels: [
          ['yes', 'entailment'],
          ['no', 'not_entailment'],
        ] as const,
      },
    };
    const src = new ParquetSource(memoryParquetProvider({ [rel]: rte }));
    const it = src.open(task, 'dev')[Symbol.asyncIterator]();
    await expect(it.next()).rejects.toThrow(
      `memory/${rel}: label names [entailment, not_entailment] in the Parquet metadata do not match the registry's RTE labels (it maps: yes→entailment, no→not_entailment)`,
    );
  });

  it('a file that is not Parquet is reported as such', async () => {
    const src = new ParquetSource(memoryParquetProvider({ [rel]: new TextEncoder().encode('index\tsentence1\n') }));
    const it = src.open(getTask('RTE'), 'dev')[Symbol.asyncIterator]();
    await expect(it.next()).rejects.toThrow(`memory/${rel}: not a Parquet file (it does not start with "PAR1")`);
  });

  it('a missing column is named', async () => {
    const task = { ...getTask('RTE'), hub: { ...getTask('RTE').hub, textB: 'hypothesis' } };
    const src = new ParquetSource(memoryParquetProvider({ [rel]: rte }));
    await expect(src.open(task, 'dev')[Symbol.asyncIterator]().next()).rejects.toThrow(
      `memory/${rel}: no column "hypothesis" (columns: sentence1, sentence2, label, idx)`,
    );
  });
});
