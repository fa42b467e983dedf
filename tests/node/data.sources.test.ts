import { readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { getTask } from '../../datasets/glueTasks.ts';
import type { SplitName } from '../../datasets/types.ts';
import { fileListProvider } from '../../src/engine/data/fileProvider.ts';
import { nodeDirProvider, nodeZipProvider, parquetSourceFromPath, tsvSourceFromPath } from '../../src/engine/platform/node/nodeFiles.ts';
import { ParquetSource, hubUrlProvider } from '../../src/engine/data/parquetSource.ts';
import { sourceFromSpec } from '../../src/engine/data/sourceSpec.ts';
import { TsvSource } from '../../src/engine/data/tsvSource.ts';
import type { DataSource, RawExample } from '../../src/engine/data/types.ts';
import { assetsDir, glueDir, hubDir, repoRoot } from '../helpers/shared.ts';

const dataDir = resolve(repoRoot, 'tests/data');
const mini = resolve(dataDir, 'glue-mini');

async function all(source: DataSource, task: string, split: string): Promise<RawExample[]> {
  const out: RawExample[] = [];
  for await (const ex of source.open(getTask(task), split as SplitName)) out.push(ex);
  return out;
}

const strip = (e: RawExample) => ({ uid: e.uid, textA: e.textA, textB: e.textB, label: e.label });

describe('TSV and Parquet sources give the same examples', () => {
  const cases: [string, SplitName][] = [
    ['CoLA', 'train'],
    ['CoLA', 'dev'],
    ['SST-2', 'train'],
    ['SST-2', 'dev'],
    ['MRPC', 'train'],
    ['MRPC', 'dev'],
    ['STS-B', 'train'],
    ['STS-B', 'dev'],
    ['RTE', 'train'],
    ['RTE', 'dev'],
    ['WNLI', 'train'],
    ['WNLI', 'dev'],
    ['QNLI', 'dev'],
  ];

  it.each(cases)('%s %s: every row, same order, same texts and labels', async (task, split) => {
    const tsv = await all(await tsvSourceFromPath(glueDir), task, split);
    const pq = await all(parquetSourceFromPath(hubDir), task, split);
    expect(pq.length).toBe(tsv.length);
    let textDiffs = 0;
    let labelDiffs = 0;
    let uidDiffs = 0;
    for (let i = 0; i < tsv.length; i++) {
      if (tsv[i].textA !== pq[i].textA || tsv[i].textB !== pq[i].textB) textDiffs++;
      if (tsv[i].uid !== pq[i].uid) uidDiffs++;
      if (task === 'STS-B') {
        // The Hub stores scores as float32; the TSV has decimal strings. Equal once rounded to float32.
        expect(pq[i].label, `row ${i}`).toBe(Math.fround(tsv[i].label!));
        if (tsv[i].label !== pq[i].label) labelDiffs++;
      } else if (tsv[i].label !== pq[i].label) labelDiffs++;
    }
    expect(textDiffs).toBe(0);
    if (task === 'STS-B') {
      // Exactly the rows whose score is not a float32 value differ: 3533 of 5749 (train), 945 of 1500 (dev).
      const notFloat32 = tsv.filter((e) => Math.fround(e.label!) !== e.label).length;
      expect(labelDiffs).toBe(notFloat32);
      expect(labelDiffs).toBe(split === 'train' ? 3533 : 945);
    } else expect(labelDiffs).toBe(0);
    if (task === 'MRPC') {
      // The TSV has no id column (uid = row position); the Hub's idx is the row in msr_paraphrase_train.txt.
      expect(uidDiffs).toBe(split === 'train' ? 3659 : 408);
    } else expect(uidDiffs).toBe(0);
  });

  it('MRPC: the Hub idx is the data row of msr_paraphrase_train.txt, and train.tsv is that file without dev', async () => {
    const raw = readFileSync(resolve(glueDir, 'MRPC/msr_paraphrase_train.txt'), 'utf8')
      .replace(/^\uFEFF/, '')
      .split('\n')
      .slice(1)
      .filter((l) => l)
      .map((l) => l.split('\t'));
    expect(raw.length).toBe(4076);
    const pq = parquetSourceFromPath(hubDir);
    const hubTrain = await all(pq, 'MRPC', 'train');
    const hubDev = await all(pq, 'MRPC', 'dev');
    for (const e of [...hubTrain, ...hubDev]) {
      const r = raw[Number(e.uid)];
      expect([r[3], r[4], Number(r[0])]).toEqual([e.textA, e.textB, e.label]);
    }
    const devIdx = new Set(hubDev.map((e) => Number(e.uid)));
    const tsvTrain = await all(await tsvSourceFromPath(glueDir), 'MRPC', 'train');
    expect(tsvTrain.map((e) => e.textA)).toEqual(raw.filter((_, i) => !devIdx.has(i)).map((r) => r[3]));
  });
});

describe('hand-made files in the layouts of the splits not in the assets', () => {
  it('MNLI train (12 columns), dev (16) and test (10): text in columns 8/9, gold label last', async () => {
    const src = await tsvSourceFromPath(mini);
    const train = await all(src, 'MNLI', 'train');
    expect(train.map(strip)).toEqual([
      {
        uid: '0',
        textA: 'Conceptually cream skimming has two basic dimensions - product and geography.',
        textB: 'Product and geography are what make cream skimming work. ',
        label: 1,
      },
      {
        uid: '1',
        textA: 'you know during the season and i guess at at your level uh you lose them to the next level',
        textB: 'You lose the things to the following level if the people recall.',
        label: 2,
      },
      // A bare double quote opens no quoted field: TSVs are split on tabs only.
      {
        uid: '2',
        textA: '"Who\'s there?" he asked, and one of our number will carry out your instructions minutely.',
        textB: 'A member of my team will execute your orders with immense precision.',
        label: 0,
      },
    ]);
    expect((await all(src, 'MNLI', 'dev_matched')).map(strip)).toEqual(train.map(strip));
    expect((await all(src, 'MNLI', 'dev_mismatched')).length).toBe(3);
    const test = await all(src, 'MNLI', 'test_matched');
    expect(test.map(strip)).toEqual(train.map((e) => ({ ...strip(e), label: undefined })));
    expect(test[2].line).toBe(4);
    expect(test[2].file).toBe(resolve(mini, 'MNLI/test_matched.tsv'));
  });

  it('QQP train/dev (id qid1 qid2 q1 q2 is_duplicate) and test (id q1 q2)', async () => {
    const src = await tsvSourceFromPath(mini);
    expect((await all(src, 'QQP', 'train')).map(strip)).toEqual([
      {
        uid: '133273',
        textA: 'How is the life of a math student? Could you describe your own experiences?',
        textB: 'Which level of prepration is enough for the exam jlpt5?',
        label: 0,
      },
      { uid: '402555', textA: 'How do I control my horny emotions?', textB: 'How do you control your horniness?', label: 1 },
      { uid: '360472', textA: 'What causes stool color to change to yellow?', textB: 'What can cause stool to come out as "little balls"?', label: 0 },
    ]);
    expect((await all(src, 'QQP', 'dev')).map((e) => e.uid)).toEqual(['360472', '402555', '133273']);
    expect((await all(src, 'QQP', 'test')).map((e) => [e.uid, e.label])).toEqual([
      ['0', undefined],
      ['1', undefined],
      ['2', undefined],
    ]);
  });

  it('QNLI train: not_entailment = 0, entailment = 1', async () => {
    const rows = await all(await tsvSourceFromPath(mini), 'QNLI', 'train');
    expect(rows.map((e) => [e.uid, e.label])).toEqual([
      ['0', 0],
      ['1', 0],
      ['2', 1],
    ]);
  });

  it('SNLI drops rows whose gold label is "-" and counts them', async () => {
    const src = await tsvSourceFromPath(mini);
    const skipped = { rows: 0 };
    const rows: RawExample[] = [];
    for await (const e of src.open(getTask('SNLI'), 'dev', { skipped })) rows.push(e);
    expect(rows.map((e) => [e.uid, e.label, e.textB])).toEqual([
      ['0', 1, 'The sisters are hugging goodbye while holding to go packages after just eating lunch.'],
      ['1', 2, 'Two woman are holding packages.'],
      ['3', 2, 'Two kids in numbered jerseys wash their hands.'],
    ]);
    expect(skipped.rows).toBe(1);
    expect((await all(src, 'SNLI', 'train')).length).toBe(3);
  });

  it('SciTail tsv_format (no header): neutral = 0, entails = 1; uid is the row number', async () => {
    const rows = await all(await tsvSourceFromPath(mini), 'SciTail', 'dev');
    expect(rows.map((e) => [e.uid, e.label, e.line])).toEqual([
      ['0', 0, 1],
      ['1', 1, 2],
    ]);
  });
});

describe('zip, picked files and URL sources', () => {
  it('reads a zip of a GLUE folder nested under glue_data/ with fflate (same rows as the folder)', async () => {
    const zip = new TsvSource(nodeZipProvider(resolve(dataDir, 'zips/glue-mini.zip')));
    expect(await zip.locate(getTask('RTE'), 'dev')).toBe('glue_data/RTE/dev.tsv');
    expect(await zip.locate(getTask('RTE'), 'train')).toBeNull();
    const fromZip = await all(zip, 'RTE', 'dev');
    const fromDir = await all(await tsvSourceFromPath(glueDir), 'RTE', 'dev');
    expect(fromZip.length).toBe(277);
    expect(fromZip.map(strip)).toEqual(fromDir.map(strip));
    expect(fromZip[0].file).toBe(`${resolve(dataDir, 'zips/glue-mini.zip')}!glue_data/RTE/dev.tsv`);
    expect((await all(zip, 'MNLI', 'dev_matched')).map(strip)).toEqual((await all(await tsvSourceFromPath(mini), 'MNLI', 'dev_matched')).map(strip));
    // --dir accepts the zip itself.
    expect((await all(await tsvSourceFromPath(resolve(dataDir, 'zips/glue-mini.zip')), 'QQP', 'dev')).length).toBe(3);
  });

  it('reads picked files by their webkitRelativePath, and loose files by name', async () => {
    const pick = (rel: string, abs: string) => {
      const f = new File([readFileSync(abs)], rel.split('/').pop()!);
      Object.defineProperty(f, 'webkitRelativePath', { value: rel });
      return f;
    };
    const folder = [pick('glue/SST-2/dev.tsv', resolve(glueDir, 'SST-2/dev.tsv')), pick('glue/CoLA/dev.tsv', resolve(glueDir, 'CoLA/dev.tsv'))];
    const src = new TsvSource(fileListProvider(folder));
    const sst = await all(src, 'SST-2', 'dev');
    expect(sst.length).toBe(872);
    expect(sst[0].file).toBe('glue/SST-2/dev.tsv');
    expect((await all(src, 'CoLA', 'dev')).length).toBe(1043);
    const loose = new TsvSource(fileListProvider([new File([readFileSync(resolve(glueDir, 'RTE/dev.tsv'))], 'dev.tsv')]));
    expect((await all(loose, 'RTE', 'dev')).length).toBe(277);
    // Picked Parquet files go to the Parquet source.
    const pq = sourceFromSpec({
      kind: 'files',
      files: [pick('glue/rte/validation-00000-of-00001.parquet', resolve(hubDir, 'datasets/nyu-mll/glue/resolve/main/rte/validation-00000-of-00001.parquet'))],
    });
    expect(pq.kind).toBe('parquet');
    expect((await all(pq, 'RTE', 'dev')).map(strip)).toEqual((await all(await tsvSourceFromPath(glueDir), 'RTE', 'dev')).map(strip));
  });

  /** Serves ../shared/assets like the dev server's /mirror/, with HEAD and Range support, without a socket. */
  const requests: string[] = [];
  const mirrorFetch: typeof fetch = async (input, init) => {
    const url = new URL(String(input));
    const path = resolve(assetsDir, decodeURIComponent(url.pathname.replace(/^\/mirror\//, '')));
    let size: number;
    try {
      size = statSync(path).size;
    } catch {
      return new Response('not found', { status: 404 });
    }
    const range = new Headers(init?.headers).get('range');
    requests.push(`${init?.method ?? 'GET'} ${url.pathname}${range ? ` ${range}` : ''}`);
    if ((init?.method ?? 'GET') === 'HEAD') return new Response(null, { status: 200, headers: { 'content-length': String(size) } });
    const bytes = readFileSync(path);
    if (range) {
      const [, a, b] = /bytes=(\d+)-(\d*)/.exec(range)!;
      const end = b ? Number(b) + 1 : size;
      return new Response(bytes.subarray(Number(a), end), { status: 206, headers: { 'content-length': String(end - Number(a)) } });
    }
    return new Response(bytes, { status: 200, headers: { 'content-length': String(size) } });
  };

  it('reads the Hub layout from a mirror URL with range requests, and a GLUE folder from a URL base', async () => {
    requests.length = 0;
    const hub = new ParquetSource(hubUrlProvider('http://127.0.0.1:5173/mirror/hub/', mirrorFetch));
    expect(hub.describe()).toBe('http://127.0.0.1:5173/mirror/hub');
    const rows = await all(hub, 'SST-2', 'dev');
    expect(rows.length).toBe(872);
    expect(rows[0].file).toBe('http://127.0.0.1:5173/mirror/hub/datasets/nyu-mll/glue/resolve/main/sst2/validation-00000-of-00001.parquet');
    expect(requests[0]).toBe('HEAD /mirror/hub/datasets/nyu-mll/glue/resolve/main/sst2/validation-00000-of-00001.parquet');
    expect(requests.slice(1).every((r) => / bytes=\d+-\d+$/.test(r))).toBe(true);
    expect(await hub.locate(getTask('QQP'), 'train')).toBeNull();
    await expect(all(hub, 'QQP', 'train')).rejects.toThrow(
      'http://127.0.0.1:5173/mirror/hub: has no datasets/nyu-mll/glue/resolve/main/qqp/train-00000-of-00001.parquet (QQP train)',
    );

    const glue = sourceFromSpec({ kind: 'glue-url', base: 'http://127.0.0.1:5173/mirror/glue' }, mirrorFetch);
    const rte = await all(glue, 'RTE', 'dev');
    expect(rte.map(strip)).toEqual((await all(await tsvSourceFromPath(glueDir), 'RTE', 'dev')).map(strip));
    expect(rte[0].file).toBe('http://127.0.0.1:5173/mirror/glue/RTE/dev.tsv');
    await expect(all(glue, 'MNLI', 'train')).rejects.toThrow('http://127.0.0.1:5173/mirror/glue: has no MNLI/train.tsv (MNLI train)');
  });

  it('reports a missing split with the source and the expected path', async () => {
    const src = new TsvSource(nodeDirProvider(mini));
    await expect(all(src, 'RTE', 'dev')).rejects.toThrow(`${mini}: has no RTE/dev.tsv (RTE dev)`);
    await expect(all(src, 'AX', 'train')).rejects.toThrow('AX has no split "train" (splits: test)');
  });
});
