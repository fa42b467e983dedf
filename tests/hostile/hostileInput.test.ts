import { randomBytes } from 'node:crypto';
import { cp, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { getTask } from '../../datasets/glueTasks.ts';
import { fixtureModelDir, glueDir } from '../helpers/shared.ts';
import { runDataCheck } from '../../src/cli/commands/data.ts';
import { parsePairsJsonl, readPairsText, registerEncodeCommand } from '../../src/cli/commands/encode.ts';
import { loadBertCheckpoint } from '../../src/engine/checkpoint/hfFolder.ts';
import { dirSource } from '../../src/engine/platform/node/nodeSource.ts';
import { checkTask } from '../../src/engine/data/checkSplits.ts';
import { formatIssue } from '../../src/engine/data/dataError.ts';
import { nodeFileStream } from '../../src/engine/platform/node/nodeFiles.ts';
import { TsvSource } from '../../src/engine/data/tsvSource.ts';
import { DEFAULT_ZIP_LIMITS, zipFileProvider } from '../../src/engine/data/zipProvider.ts';
import { parseVocabText } from '../../src/engine/tokenizer/vocab.ts';
import { repeat, text, writeZip } from './helpers/zipWriter.ts';
import { hostileCases, MAX_RSS_GROWTH, MB, measured, tableRow } from './helpers/measure.ts';

// The case → outcome table of the report (time and memory of each case).
const hostile = hostileCases('taskscope-hostile-', '| case | zip bytes | inflated bytes (declared) | peak RSS growth | time | outcome |');

const RTE_HEADER = 'index\tsentence1\tsentence2\tlabel\n';

/** `data check --task RTE --split dev --dir <zip>` in-process: its output lines and exit code. */
async function checkZip(zip: string): Promise<{ lines: string[]; code: number }> {
  const lines: string[] = [];
  const code = await runDataCheck({ task: 'RTE', dir: zip, split: ['dev'] }, (l) => lines.push(l));
  return { lines, code };
}

function record(name: string, zipBytes: number, inflated: string, m: { rssGrowth: number; seconds: number }, outcome: string): void {
  hostile.table.push(tableRow(name, zipBytes, inflated, m, outcome));
}

describe('hostile archives: bounded in memory, stopped with a message naming the limit', () => {
  it('a ratio bomb: 0.4 MB inflating to 200 MB of bad rows is stopped at its first slice', async () => {
    const zip = join(hostile.dir, 'ratio-bomb.zip');
    const size = await writeZip(zip, [
      {
        name: 'RTE/dev.tsv',
        parts: function* () {
          yield text(RTE_HEADER);
          yield* repeat(text('1\ta\tb\tmaybe\n'.repeat(1 << 16)), 200e6);
        },
      },
    ]);
    const m = await measured(() => checkZip(zip));
    expect(m.value.code).toBe(1);
    expect(m.value.lines).toEqual([
      `RTE (${zip})`,
      '  dev                    0 rows, 1 malformed  (official 277: differs)',
      expect.stringMatching(
        new RegExp(
          `^    ${zip}!RTE/dev\\.tsv: inflates more than 100 times its compressed size \\(\\d+ bytes from at most \\d+; limit 100:1, a zip bomb\\?\\); set TASKSCOPE_MAX_INFLATE_RATIO to raise it$`,
        ),
      ),
      '1 malformed row',
    ]);
    expect(m.rssGrowth).toBeLessThan(MAX_RSS_GROWTH);
    record('ratio bomb (200 MB of bad rows)', size, '200,000,032', m, m.value.lines[2].trim().replace(zip, '<zip>'));
  });

  it('a file of 300,000 bad rows (16 MB at a plausible ratio): the first 100 are kept and shown, the rest counted', async () => {
    const zip = join(hostile.dir, 'bad-rows.zip');
    let i = 0;
    const size = await writeZip(zip, [
      {
        name: 'RTE/dev.tsv',
        parts: function* () {
          yield text(RTE_HEADER);
          while (i < 300_000) {
            const rows: string[] = [];
            for (let k = 0; k < 10_000; k++, i++) rows.push(`${i}\tsentence ${(i * 7919) % 100_003}\tother ${(i * 104_729) % 99_991}\tmaybe\n`);
            yield text(rows.join(''));
          }
        },
      },
    ]);
    const m = await measured(() => checkZip(zip));
    const { lines, code } = m.value;
    expect(code).toBe(1);
    expect(lines.length).toBe(2 + 100 + 2);
    expect(lines[1]).toBe('  dev                    0 rows, 300000 malformed  (official 277: differs)');
    expect(lines[2]).toBe(`    ${zip}!RTE/dev.tsv:2: unknown label "maybe" (expected one of: not_entailment, entailment)`);
    expect(lines[101]).toBe(`    ${zip}!RTE/dev.tsv:101: unknown label "maybe" (expected one of: not_entailment, entailment)`);
    expect(lines[102]).toBe('    … and 299900 more malformed rows (only the first 100 per split are kept and shown)');
    expect(lines[103]).toBe('300000 malformed rows');
    expect(m.rssGrowth).toBeLessThan(MAX_RSS_GROWTH);
    record('300,000 bad rows (ratio ~4)', size, '~16 MB', m, lines[102].trim());
  });

  it('a line bomb: one 200 MB line (stopped by the ratio limit; with no ratio limit, by the line limit)', async () => {
    const zip = join(hostile.dir, 'line-bomb.zip');
    const size = await writeZip(zip, [
      {
        name: 'RTE/dev.tsv',
        parts: function* () {
          yield text(RTE_HEADER);
          yield* repeat(new Uint8Array(1 << 20).fill(0x61), 200e6);
        },
      },
    ]);
    const m = await measured(() => checkZip(zip));
    expect(m.value.code).toBe(1);
    expect(m.value.lines.slice(1, 3)).toEqual([
      '  dev                    0 rows, 1 malformed  (official 277: differs)',
      expect.stringMatching(
        new RegExp(
          `^    ${zip}!RTE/dev\\.tsv: inflates more than 100 times its compressed size \\(\\d+ bytes from at most \\d+; limit 100:1, a zip bomb\\?\\); set TASKSCOPE_MAX_INFLATE_RATIO to raise it$`,
        ),
      ),
    ]);
    expect(m.rssGrowth).toBeLessThan(MAX_RSS_GROWTH);
    record('line bomb (one 200 MB line)', size, '200,000,032', m, m.value.lines[2].trim().replace(zip, '<zip>'));

    // The same archive read with the ratio check off: the 4 Mi-character line limit stops it.
    const noRatio = new TsvSource(zipFileProvider(() => nodeFileStream(zip), zip, { ...DEFAULT_ZIP_LIMITS, maxRatio: Infinity }));
    const m2 = await measured(() => checkTask(noRatio, getTask('RTE'), ['dev']));
    expect(m2.value[0].issues.map(formatIssue)).toEqual([`${zip}!RTE/dev.tsv:2: line longer than 4194304 characters (the limit per line; not a TSV file?)`]);
    expect(m2.rssGrowth).toBeLessThan(MAX_RSS_GROWTH);
    record(
      'line bomb, ratio check off',
      size,
      '200,000,032',
      m2,
      '<zip>!RTE/dev.tsv:2: line longer than 4194304 characters (the limit per line; not a TSV file?)',
    );
  });

  it('a long line that compresses poorly (6 MB of varied letters) is stopped by the line limit', async () => {
    const zip = join(hostile.dir, 'long-line.zip');
    const letters = randomBytes(6e6).map((b) => 97 + (b % 26));
    const size = await writeZip(zip, [
      {
        name: 'RTE/dev.tsv',
        parts: function* () {
          yield text(RTE_HEADER);
          yield letters;
        },
      },
    ]);
    const m = await measured(() => checkZip(zip));
    expect(m.value.code).toBe(1);
    expect(m.value.lines[2]).toBe(`    ${zip}!RTE/dev.tsv:2: line longer than 4194304 characters (the limit per line; not a TSV file?)`);
    expect(m.rssGrowth).toBeLessThan(MAX_RSS_GROWTH);
    record('long line, ratio ~1.6', size, '6,000,032', m, m.value.lines[2].trim().replace(zip, '<zip>'));
  });

  it('an entry past the size limit: declared in its header, or hidden by a header that lies', async () => {
    const limits = { ...DEFAULT_ZIP_LIMITS, maxEntryBytes: MB };
    const rows = function* () {
      yield text(RTE_HEADER);
      let i = 0;
      while (i < 40_000) yield text(`${i++}\tThe cat sat on mat ${i % 97}.\tA dog ran ${i % 13} laps.\tentailment\n`);
    };
    for (const [name, declaredSize, want] of [
      ['declared', undefined, /^<zip>!RTE\/dev\.tsv: declares \d+ bytes inflated; the limit is 1048576 bytes per archive entry$/],
      ['lying header', 1000, /^<zip>!RTE\/dev\.tsv: inflates past 1048576 bytes \(stopped at \d+\); the limit is 1048576 bytes per archive entry$/],
    ] as const) {
      const zip = join(hostile.dir, `big-${declaredSize ?? 'true'}.zip`);
      const size = await writeZip(zip, [{ name: 'RTE/dev.tsv', parts: rows, declaredSize }]);
      const src = new TsvSource(zipFileProvider(() => nodeFileStream(zip), zip, limits));
      const m = await measured(() => checkTask(src, getTask('RTE'), ['dev']));
      const issues = m.value[0].issues.filter((i) => i.fatal).map((i) => formatIssue(i).replace(zip, '<zip>'));
      expect(issues).toEqual([expect.stringMatching(want)]);
      expect(m.rssGrowth).toBeLessThan(MAX_RSS_GROWTH);
      record(`entry over a 1 MiB limit (${name})`, size, `~2.3 MB (${declaredSize ?? 'true size'})`, m, issues[0]);
    }
  });

  it('entry names that point outside the folder refuse the archive', async () => {
    const zip = join(hostile.dir, 'traversal.zip');
    const row = () => [text(`${RTE_HEADER}0\ta\tb\tentailment\n`)];
    const size = await writeZip(zip, [
      { name: 'RTE/train.tsv', parts: row },
      { name: '../RTE/dev.tsv', parts: row },
      { name: '/etc/cron.d/x', parts: row },
      { name: 'RTE\\..\\..\\x.tsv', parts: row },
      { name: 'C:/x.tsv', parts: row },
    ]);
    const m = await measured(() => checkZip(zip));
    expect(m.value.code).toBe(1);
    const msg = `${zip}: entry names that point outside the archive's folder (absolute, "..", drive letter or backslash): "../RTE/dev.tsv", "/etc/cron.d/x", "RTE\\\\..\\\\..\\\\x.tsv" and 1 more; refusing the archive`;
    expect(m.value.lines.slice(1)).toEqual(['  dev                    0 rows, 1 malformed  (official 277: differs)', `    ${msg}`, '1 malformed row']);
    record('traversal names', size, '-', m, msg.replace(zip, '<zip>'));
  });
});

describe('hostile files and values: each refused with a message naming the file, line or flag', () => {
  it('NaN or Inf in a weight tensor is refused at load, naming the tensor and the element', async () => {
    for (const [what, value] of [
      ['NaN', NaN],
      ['Inf', Infinity],
      ['-Inf', -Infinity],
    ] as const) {
      const dir = join(hostile.dir, `nonfinite-${what}`);
      await cp(fixtureModelDir('random-tiny'), dir, { recursive: true });
      const bytes = await readFile(join(dir, 'model.safetensors'));
      const headerLength = Number(bytes.readBigUInt64LE(0));
      const header = JSON.parse(bytes.subarray(8, 8 + headerLength).toString('utf8'));
      const t = header['bert.encoder.layer.0.attention.output.LayerNorm.bias'];
      bytes.writeFloatLE(value, 8 + headerLength + t.data_offsets[0] + 4 * 5);
      await writeFile(join(dir, 'model.safetensors'), bytes);
      await expect(loadBertCheckpoint(dirSource(dir))).rejects.toMatchObject({
        message: `${dir}/model.safetensors: tensor bert.encoder.layer.0.attention.output.LayerNorm.bias [32] holds ${what} at element 5 of 32; non-finite weights are refused`,
      });
    }
  });

  it('config.json with a BOM is read as without one', async () => {
    const dir = join(hostile.dir, 'bom-config');
    await cp(fixtureModelDir('random-tiny'), dir, { recursive: true });
    await writeFile(join(dir, 'config.json'), `\uFEFF${await readFile(join(dir, 'config.json'), 'utf8')}`);
    const [a, b] = await Promise.all([loadBertCheckpoint(dirSource(dir)), loadBertCheckpoint(dirSource(fixtureModelDir('random-tiny')))]);
    expect(a.config).toEqual(b.config);
  });

  it('a duplicated vocab token keeps its last id (Google BERT load_vocab, Hugging Face BertTokenizer)', () => {
    const v = parseVocabText('[PAD]\n[UNK]\nthe\n[CLS]\nthe\n');
    expect(v.ids.get('the')).toBe(4);
  });

  it('encode: every number option is checked before anything runs, naming the flag', async () => {
    const run = async (args: string[]) => {
      const program = new Command().exitOverride();
      registerEncodeCommand(program);
      await program.parseAsync(['encode', '--model', 'm', '--pairs', 'p', ...args], { from: 'user' });
    };
    for (const bad of ['0', '-1', 'abc', '0x10', '1.5', ''])
      await expect(run(['--max-len', '8', '--batch-size', bad])).rejects.toThrow(new Error(`--batch-size must be an integer >= 1, got "${bad}"`));
    for (const bad of ['1', 'ten', '1e3x']) await expect(run(['--max-len', bad])).rejects.toThrow(new Error(`--max-len must be an integer >= 2, got "${bad}"`));
  });

  it('--pairs: a BOM is dropped, invalid UTF-8 names its line, an empty file is an error', async () => {
    const f = join(hostile.dir, 'pairs.jsonl');
    await writeFile(f, `\uFEFF{"a": "x"}\n`);
    expect(parsePairsJsonl(await readPairsText(f), f)).toEqual([{ a: 'x', b: null }]);
    await writeFile(f, Buffer.concat([Buffer.from('{"a": "x"}\n{"a": "'), Buffer.from([0xff, 0xfe]), Buffer.from('"}\n')]));
    await expect(readPairsText(f)).rejects.toThrow(new Error(`${f}:2: not valid UTF-8 text`));
    await writeFile(f, '');
    expect(() => parsePairsJsonl('', f)).toThrow(new Error(`${f}: no pairs (the file is empty); expected lines of {"a": "...", "b": "..."}`));
    expect(() => parsePairsJsonl('\n  \n', f)).toThrow(new Error(`${f}: no pairs (the file has only blank lines); expected lines of {"a": "...", "b": "..."}`));
  });

  it('data check: "0x3" is not an STS-B score, a dev.tsv that is a directory is an error, a missing --dir is named', async () => {
    const dir = join(hostile.dir, 'glue-hostile');
    await mkdir(join(dir, 'STS-B'), { recursive: true });
    const [header, first] = (await readFile(join(glueDir, 'STS-B/dev.tsv'), 'utf8')).split('\n');
    await writeFile(join(dir, 'STS-B/dev.tsv'), `${header}\n${first.replace(/\t5\.000$/, '\t0x3')}\n${first}\n`);
    const lines: string[] = [];
    expect(await runDataCheck({ task: 'STS-B', dir, split: ['dev'] }, (l) => lines.push(l))).toBe(1);
    expect(lines.slice(1)).toEqual([
      '  dev                    1 rows, 1 malformed  (official 1500: differs)',
      `    ${dir}/STS-B/dev.tsv:2: score "0x3" is not a number`,
      '1 malformed row',
    ]);

    await mkdir(join(dir, 'RTE/dev.tsv'), { recursive: true });
    lines.length = 0;
    expect(await runDataCheck({ task: 'RTE', dir, split: ['dev'] }, (l) => lines.push(l))).toBe(1);
    expect(lines.slice(1)).toEqual([
      '  dev                    0 rows, 1 malformed  (official 277: differs)',
      `    ${dir}/RTE/dev.tsv: is a directory, not a TSV file`,
      '1 malformed row',
    ]);

    await expect(runDataCheck({ task: 'RTE', dir: join(hostile.dir, 'nowhere') }, () => {})).rejects.toThrow(
      new Error(`--dir: ${join(hostile.dir, 'nowhere')}: not found (give the GLUE folder or a zip of it)`),
    );
  });
});
