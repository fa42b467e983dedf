import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { getTask, hubParquetPath, getSplit } from '../../datasets/glueTasks.ts';
import { runDataCheck } from '../../src/cli/commands/data.ts';
import { checkTask } from '../../src/engine/data/checkSplits.ts';
import { formatIssue } from '../../src/engine/data/dataError.ts';
import { ParquetSource } from '../../src/engine/data/parquetSource.ts';
import { hubDirProvider } from '../../src/engine/platform/node/nodeFiles.ts';
import { nodeInputLimits } from '../../src/engine/platform/node/nodeInputLimits.ts';
import { hubDir } from '../helpers/shared.ts';
import { hostileCases, MAX_RSS_GROWTH, measured, tableRow } from './helpers/measure.ts';
import { plainInt64, plainStrings, snappyRun, writeParquet, type ColumnSpec } from './helpers/parquetWriter.ts';

/*
 * Hostile Hub Parquet files, built in the test (helpers/parquetWriter.ts) or cut from a real one: each is refused
 * with a message naming the file, the limit and the TASKSCOPE_MAX_* variable that raises it, before hyparquet
 * allocates what the file declares, and within the time and memory the zip cases are held to.
 */

// The case → outcome table of the report (time and memory of each case).
const hostile = hostileCases('taskscope-hostile-parquet-', '| case | file bytes | decoded bytes (declared) | peak RSS growth | time | outcome |');

const RTE = getTask('RTE');
/** Where the RTE dev split lies in a Hub-layout folder. */
const devPath = (hub: string) => join(hub, hubParquetPath(RTE, getSplit(RTE, 'dev')));

/** A Hub-layout folder named `name` whose RTE dev file is `columns` over `rows` declared rows; returns its path and size. */
async function hostileHub(
  name: string,
  rows: number | bigint,
  columns: ColumnSpec[],
  groupRows?: number | bigint,
): Promise<{ hub: string; file: string; bytes: number }> {
  const hub = join(hostile.dir, name);
  const file = devPath(hub);
  await mkdir(dirname(file), { recursive: true });
  return { hub, file, bytes: await writeParquet(file, rows, columns, groupRows) };
}

/** `data check --task RTE --split dev --hub <folder>` in-process (the CLI's limits, from the environment). */
async function checkHub(hub: string): Promise<{ lines: string[]; code: number }> {
  const lines: string[] = [];
  const code = await runDataCheck({ task: 'RTE', hub, split: ['dev'] }, (l) => lines.push(l));
  return { lines, code };
}

/** Two RTE rows; the sentence1 column is `sentence1`. */
function rteColumns(sentence1: Omit<ColumnSpec, 'name' | 'type'>): ColumnSpec[] {
  return [
    { name: 'sentence1', type: 'BYTE_ARRAY', ...sentence1 },
    { name: 'sentence2', type: 'BYTE_ARRAY', pages: [{ data: plainStrings(['b', 'c']), numValues: 2 }] },
    { name: 'label', type: 'INT64', pages: [{ data: plainInt64([0, 1]), numValues: 2 }] },
    { name: 'idx', type: 'INT32', pages: [{ data: new Uint8Array(8), numValues: 2 }] },
  ];
}

const lengthPrefix = (n: number) => {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n, true);
  return b;
};

describe('hostile Parquet files: refused before they are decoded, naming the limit and how to raise it', () => {
  it('a page that declares 200 MB from 30 bytes (the footer lies too): stopped by the page limit, nothing allocated', async () => {
    const { hub, file, bytes } = await hostileHub(
      'page-bomb',
      2,
      rteColumns({ codec: 'SNAPPY', pages: [{ data: new Uint8Array(30), numValues: 2, uncompressedSize: 200e6 }], declaredUncompressed: 100 }),
    );
    const m = await measured(() => checkHub(hub));
    const msg = `${file}: a page of row group 1 declares 200000000 bytes decoded; the limit is 67108864 bytes per page; set TASKSCOPE_MAX_PAGE_BYTES to raise it`;
    expect(m.value).toEqual({
      code: 1,
      lines: [`RTE (${hub})`, '  dev                    0 rows, 1 malformed  (official 277: differs)', `    ${msg}`, '1 malformed row'],
    });
    expect(m.rssGrowth).toBeLessThan(MAX_RSS_GROWTH);
    hostile.table.push(tableRow('page bomb, lying footer (200 MB from 30 B)', bytes, '200,000,000 (page header)', m, msg.replace(file, '<file>')));
  });

  it('a page under the page limit that declares 50 MB from 30 bytes: stopped by the ratio limit', async () => {
    const { hub, file, bytes } = await hostileHub(
      'ratio-page',
      2,
      rteColumns({ codec: 'SNAPPY', pages: [{ data: new Uint8Array(30), numValues: 2, uncompressedSize: 50e6 }], declaredUncompressed: 100 }),
    );
    const m = await measured(() => checkHub(hub));
    const msg = `${file}: a page of row group 1 inflates more than 100 times its compressed size (50000000 bytes from 30; limit 100:1, a decompression bomb?); set TASKSCOPE_MAX_INFLATE_RATIO to raise it`;
    expect(m.value.lines[2]).toBe(`    ${msg}`);
    expect(m.rssGrowth).toBeLessThan(MAX_RSS_GROWTH);
    hostile.table.push(tableRow('ratio bomb in a page (50 MB from 30 B)', bytes, '50,000,000 (page header)', m, msg.replace(file, '<file>')));
  });

  it('a column chunk whose footer declares 200 MB from a few bytes: refused from the footer alone', async () => {
    const { hub, file, bytes } = await hostileHub(
      'chunk-bomb',
      2,
      rteColumns({ pages: [{ data: plainStrings(['a', 'b']), numValues: 2 }], declaredUncompressed: 200e6 }),
    );
    const m = await measured(() => checkHub(hub));
    expect(m.value.lines[2]).toMatch(
      new RegExp(
        `^    ${file.replaceAll('.', '\\.')}: column "sentence1" of row group 1 inflates more than 100 times its compressed size \\(200000000 bytes from \\d+; limit 100:1, a decompression bomb\\?\\); set TASKSCOPE_MAX_INFLATE_RATIO to raise it$`,
      ),
    );
    expect(m.rssGrowth).toBeLessThan(MAX_RSS_GROWTH);
    hostile.table.push(tableRow('column chunk declaring 200 MB (footer)', bytes, '200,000,000 (footer)', m, m.value.lines[2].trim().replace(file, '<file>')));
  });

  it('one 100 MB cell, honestly declared (Snappy at ~21:1): stopped by the page limit before it is inflated', async () => {
    const data = snappyRun(lengthPrefix(100e6 - 4), 0x61, 100e6);
    const { hub, file, bytes } = await hostileHub('huge-cell', 1, [
      { name: 'sentence1', type: 'BYTE_ARRAY', codec: 'SNAPPY', pages: [{ data, numValues: 1, uncompressedSize: 100e6 }] },
      { name: 'sentence2', type: 'BYTE_ARRAY', pages: [{ data: plainStrings(['b']), numValues: 1 }] },
      { name: 'label', type: 'INT64', pages: [{ data: plainInt64([0]), numValues: 1 }] },
      { name: 'idx', type: 'INT32', pages: [{ data: new Uint8Array(4), numValues: 1 }] },
    ]);
    const m = await measured(() => checkHub(hub));
    const msg = `${file}: a page of row group 1 declares 100000000 bytes decoded; the limit is 67108864 bytes per page; set TASKSCOPE_MAX_PAGE_BYTES to raise it`;
    expect(m.value.lines[2]).toBe(`    ${msg}`);
    expect(m.rssGrowth).toBeLessThan(MAX_RSS_GROWTH);
    hostile.table.push(tableRow('one 100 MB cell (Snappy 21:1)', bytes, '100,000,000', m, msg.replace(file, '<file>')));
  });

  it('a 6 MB cell of varied letters (under the page limit): that row is refused by the 4 Mi-character cell limit', async () => {
    const cell = Buffer.from(randomBytes(6e6).map((b) => 97 + (b % 26))).toString('latin1');
    const { hub, file, bytes } = await hostileHub('long-cell', 2, rteColumns({ pages: [{ data: plainStrings([cell, 'a short one']), numValues: 2 }] }));
    const m = await measured(() => checkHub(hub));
    expect(m.value.lines.slice(1)).toEqual([
      '  dev                    1 rows, 1 malformed  (official 277: differs)  [not_entailment 1, entailment 0]',
      `    ${file}: row 1: text in column sentence1 is longer than 4194304 characters (the limit per cell, as per line of a TSV file)`,
      '1 malformed row',
    ]);
    expect(m.rssGrowth).toBeLessThan(MAX_RSS_GROWTH);
    hostile.table.push(tableRow('one 6 MB cell (uncompressed)', bytes, '6,000,004', m, m.value.lines[2].trim().replace(file, '<file>')));
  });

  it('32 honest Snappy pages of 64 KiB under a 1 MiB limit: the footer declares it, or, when the footer lies, decoding stops', async () => {
    const limits = { ...nodeInputLimits({}), maxEntryBytes: 1024 * 1024 };
    const page = { data: snappyRun(lengthPrefix(65532), 0x61, 65536), numValues: 1, uncompressedSize: 65536 };
    const rows = 32;
    const columns = (declaredUncompressed?: number): ColumnSpec[] => [
      { name: 'sentence1', type: 'BYTE_ARRAY', codec: 'SNAPPY', pages: new Array<typeof page>(rows).fill(page), declaredUncompressed },
      { name: 'sentence2', type: 'BYTE_ARRAY', pages: [{ data: plainStrings(new Array<string>(rows).fill('b')), numValues: rows }] },
      { name: 'label', type: 'INT64', pages: [{ data: plainInt64(new Array<number>(rows).fill(0)), numValues: rows }] },
      { name: 'idx', type: 'INT32', pages: [{ data: new Uint8Array(4 * rows), numValues: rows }] },
    ];
    for (const [name, declared, want] of [
      [
        'footer declares it',
        undefined,
        /^<file>: column "sentence1" of row group 1 declares \d+ bytes decoded; the limit is 1048576 bytes per column chunk; set TASKSCOPE_MAX_INPUT_BYTES to raise it$/,
      ],
      [
        'footer lies',
        1000,
        /^<file>: row group 1 decodes past 1048576 bytes; the limit is 1048576 bytes per row group; set TASKSCOPE_MAX_INPUT_BYTES to raise it$/,
      ],
    ] as const) {
      const { hub, file, bytes } = await hostileHub(`pages-${declared ?? 'true'}`, rows, columns(declared));
      const m = await measured(() => checkTask(new ParquetSource(hubDirProvider(hub), limits), RTE, ['dev']));
      const issues = m.value[0].issues.map((i) => formatIssue(i).replace(file, '<file>'));
      expect(issues).toEqual([expect.stringMatching(want)]);
      expect(m.rssGrowth).toBeLessThan(MAX_RSS_GROWTH);
      hostile.table.push(
        tableRow(`32 × 64 KiB Snappy pages over a 1 MiB limit (${name})`, bytes, `2,097,152${declared ? ' (footer: 1,000)' : ''}`, m, issues[0]),
      );
    }
  });

  it('a footer declaring 10^12 rows is refused before any row is read', async () => {
    const { hub, file, bytes } = await hostileHub('rows', 10n ** 12n, rteColumns({ pages: [{ data: plainStrings(['a', 'b']), numValues: 2 }] }));
    const m = await measured(() => checkHub(hub));
    const msg = `${file}: declares 1000000000000 rows; the limit is 10000000 rows per Parquet file; set TASKSCOPE_MAX_ROWS to raise it`;
    expect(m.value.lines[2]).toBe(`    ${msg}`);
    hostile.table.push(tableRow('footer declaring 10^12 rows', bytes, '-', m, msg.replace(file, '<file>')));
  });

  it('a row group declaring 10^12 rows under a footer that declares 2 is a damaged file', async () => {
    const { hub, file, bytes } = await hostileHub('group-rows', 2, rteColumns({ pages: [{ data: plainStrings(['a', 'b']), numValues: 2 }] }), 10n ** 12n);
    const m = await measured(() => checkHub(hub));
    const msg = `${file}: its row groups hold 1000000000000 rows but the footer declares 2 (a damaged file?)`;
    expect(m.value.lines[2]).toBe(`    ${msg}`);
    hostile.table.push(tableRow('row group declaring 10^12 rows, footer 2', bytes, '-', m, msg.replace(file, '<file>')));
  });

  it('300,000 bad rows: the first 100 are kept and shown, the rest counted', async () => {
    const n = 300_000;
    const { hub, file, bytes } = await hostileHub('bad-rows', n, [
      { name: 'sentence1', type: 'BYTE_ARRAY', pages: [{ data: plainStrings(Array.from({ length: n }, (_, i) => `premise ${i}`)), numValues: n }] },
      { name: 'sentence2', type: 'BYTE_ARRAY', pages: [{ data: plainStrings(Array.from({ length: n }, (_, i) => `claim ${i}`)), numValues: n }] },
      { name: 'label', type: 'INT64', pages: [{ data: plainInt64(new Array<number>(n).fill(7)), numValues: n }] },
      { name: 'idx', type: 'INT32', pages: [{ data: new Uint8Array(4 * n), numValues: n }] },
    ]);
    const m = await measured(() => checkHub(hub));
    const { lines, code } = m.value;
    expect(code).toBe(1);
    expect(lines.length).toBe(2 + 100 + 2);
    expect(lines[1]).toBe('  dev                    0 rows, 300000 malformed  (official 277: differs)');
    expect(lines[2]).toBe(`    ${file}: row 1: unknown label 7 (the file names 2 classes: entailment, not_entailment)`);
    expect(lines[102]).toBe('    … and 299900 more malformed rows (only the first 100 per split are kept and shown)');
    expect(m.rssGrowth).toBeLessThan(MAX_RSS_GROWTH);
    hostile.table.push(tableRow('300,000 bad rows', bytes, `${bytes.toLocaleString('en')} (plain)`, m, lines[102].trim()));
  });

  it('a file over the size limit, a truncated file and a file that is not Parquet each say so', async () => {
    const hub = join(hostile.dir, 'real');
    const file = devPath(hub);
    await mkdir(dirname(file), { recursive: true });
    const real = devPath(hubDir);
    const size = (await readFile(real)).length;
    const limited = new ParquetSource(hubDirProvider(hub), nodeInputLimits({ TASKSCOPE_MAX_INPUT_BYTES: String(size - 1) }));
    const cases: [string, () => Promise<void>, string, ParquetSource?][] = [
      [
        'real RTE dev file over a limit of its size - 1',
        () => copyFile(real, file),
        `is ${size} bytes; the limit is ${size - 1} bytes per Parquet file; set TASKSCOPE_MAX_INPUT_BYTES to raise it`,
        limited,
      ],
      [
        'real RTE dev file cut in half',
        async () => writeFile(file, (await readFile(real)).subarray(0, size >> 1)),
        `truncated: it starts as a Parquet file but does not end with "PAR1" (${size >> 1} bytes; an interrupted download?)`,
      ],
      [
        'a TSV file under the Parquet name',
        () => writeFile(file, 'index\tsentence1\tsentence2\tlabel\n'),
        'not a Parquet file (it does not start with "PAR1")',
      ],
      ['an empty file', () => writeFile(file, ''), 'not a Parquet file (it does not start with "PAR1")'],
    ];
    for (const [name, make, reason, source] of cases) {
      await make();
      const m = await measured(() => checkTask(source ?? new ParquetSource(hubDirProvider(hub), nodeInputLimits({})), RTE, ['dev']));
      expect(m.value[0].issues.map(formatIssue)).toEqual([`${file}: ${reason}`]);
      expect(m.rssGrowth).toBeLessThan(MAX_RSS_GROWTH);
      hostile.table.push(tableRow(name, (await readFile(file)).length, '-', m, `<file>: ${reason}`));
    }
  });

  it('a TASKSCOPE_MAX_* value that is not a whole number >= 1 is named', () => {
    for (const bad of ['0', '-5', '1.5', 'lots', ''])
      expect(() => nodeInputLimits({ TASKSCOPE_MAX_ROWS: bad })).toThrow(new Error(`TASKSCOPE_MAX_ROWS must be an integer >= 1, got "${bad}"`));
    expect(nodeInputLimits({ TASKSCOPE_MAX_PAGE_BYTES: '1024' }).maxPageBytes).toBe(1024);
  });
});
