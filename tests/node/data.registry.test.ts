import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parquetMetadataAsync, parquetReadObjects } from 'hyparquet';
import { describe, expect, it } from 'vitest';
import { GLUE_TASKS, findTask, getSplit, getTask, hubParquetPath } from '../../datasets/glueTasks.ts';
import { nodeAsyncBuffer, parquetSourceFromPath, tsvSourceFromPath } from '../../src/engine/platform/node/nodeFiles.ts';
import type { DataSource } from '../../src/engine/data/types.ts';
import { assetsDir, glueDir, hubDir } from '../helpers/shared.ts';

/**
 * Official counts, parsed from the assets README line (independent of the registry's hand-typed `rows`):
 * "CoLA 8551 / 1043 / 1063 · … · MNLI 392702 / 9815 matched + 9832 mismatched / 9796 + 9847 · … · AX — / — / 1104."
 */
function officialCounts(): Map<string, number> {
  const readme = readFileSync(resolve(assetsDir, 'README.md'), 'utf8');
  const line = readme.split('\n').find((l) => l.startsWith('Official row counts'))!;
  const body = line.slice(line.indexOf(':') + 1).replace(/\.\s*$/, '');
  const out = new Map<string, number>();
  for (const part of body.split('·').map((s) => s.trim())) {
    const [name, ...rest] = part.split(' ');
    const [train, dev, test] = rest
      .join(' ')
      .split('/')
      .map((s) => s.trim());
    const nums = (s: string) => (s.match(/\d+/g) ?? []).map(Number);
    if (name === 'MNLI') {
      out.set('MNLI/train', nums(train)[0]);
      out.set('MNLI/dev_matched', nums(dev)[0]).set('MNLI/dev_mismatched', nums(dev)[1]);
      out.set('MNLI/test_matched', nums(test)[0]).set('MNLI/test_mismatched', nums(test)[1]);
      continue;
    }
    if (nums(train).length) out.set(`${name}/train`, nums(train)[0]);
    if (nums(dev).length) out.set(`${name}/dev`, nums(dev)[0]);
    if (nums(test).length) out.set(`${name}/test`, nums(test)[0]);
  }
  return out;
}

async function count(source: DataSource, task: string, split: string): Promise<number> {
  let n = 0;
  for await (const _ of source.open(getTask(task), split as never)) n++;
  return n;
}

describe('GLUE task registry', () => {
  it('records the official row counts of every GLUE split (as the assets README states them)', () => {
    const official = officialCounts();
    expect(official.size).toBe(30); // 8 tasks × 3 splits + MNLI 5 + AX 1
    for (const [key, rows] of official) {
      const [task, split] = key.split('/');
      expect(getSplit(getTask(task), split).rows, key).toBe(rows);
    }
  });

  it("resolves every original's lower-case name in one place", () => {
    expect(getTask('sst').name).toBe('SST-2');
    expect(getTask('sts').name).toBe('STS-B');
    expect(getTask('stsb').name).toBe('STS-B');
    expect(getTask('MNLI').name).toBe('MNLI');
    expect(getTask('scitail').name).toBe('SciTail');
    expect(findTask('qnnli')).toBeUndefined();
    expect(() => getTask('squad')).toThrow('unknown task "squad" (known: CoLA, SST-2, MRPC, STS-B, QQP, MNLI, QNLI, RTE, WNLI, AX, SciTail, SNLI)');
  });

  it('uses MT-DNN label orders, types and metrics', () => {
    expect(getTask('MNLI').labels).toEqual(['contradiction', 'neutral', 'entailment']);
    expect(getTask('SNLI').labels).toEqual(['contradiction', 'neutral', 'entailment']);
    expect(getTask('RTE').labels).toEqual(['not_entailment', 'entailment']);
    expect(getTask('QNLI').labels).toEqual(['not_entailment', 'entailment']);
    expect(getTask('SciTail').labels).toEqual(['neutral', 'entails']);
    expect(getTask('STS-B').labels).toBeNull();
    expect(getTask('STS-B').type).toBe('regression');
    expect(getTask('STS-B').scoreRange).toEqual([0, 5]);
    expect(getTask('CoLA').metrics).toEqual(['ACC', 'MCC']);
    expect(getTask('MRPC').metrics).toEqual(['ACC', 'F1']);
    expect(getTask('QQP').metrics).toEqual(['ACC', 'F1']);
    expect(getTask('STS-B').metrics).toEqual(['Pearson', 'Spearman']);
    for (const t of ['SST-2', 'MNLI', 'QNLI', 'RTE', 'WNLI', 'SciTail', 'SNLI']) expect(getTask(t).metrics).toEqual(['ACC']);
  });

  it('names the GLUE submission files and their label formats', () => {
    const files = GLUE_TASKS.flatMap((t) => t.splits.filter((s) => s.submissionFile).map((s) => `${s.submissionFile}:${t.submissionFormat}`));
    expect(files).toEqual([
      'CoLA.tsv:int',
      'SST-2.tsv:int',
      'MRPC.tsv:int',
      'STS-B.tsv:float3',
      'QQP.tsv:int',
      'MNLI-m.tsv:string',
      'MNLI-mm.tsv:string',
      'QNLI.tsv:string',
      'RTE.tsv:string',
      'WNLI.tsv:int',
      'AX.tsv:string',
    ]);
    expect(getSplit(getTask('MNLI'), 'test_matched').submissionFile).toBe('MNLI-m.tsv');
  });

  it('has self-consistent TSV layouts and Hub label maps', () => {
    for (const t of GLUE_TASKS) {
      for (const s of t.splits) {
        const l = s.tsv!;
        if (l.header) expect(l.header.length, `${t.name}/${s.name}`).toBe(l.columns);
        for (const c of [l.textA, l.textB, l.label, l.uid]) if (typeof c === 'number') expect(c).toBeLessThan(l.columns);
        expect(l.label !== undefined, `${t.name}/${s.name} label column`).toBe(s.labelled);
        expect(l.textB !== undefined).toBe(t.pair);
      }
      if (t.labels) {
        // Every registry label is reachable from exactly one Hub name.
        expect(t.hub.classLabels!.map(([, l]) => l).sort()).toEqual([...t.labels].sort());
      }
    }
  });

  it("knows the Hub's label order for every Parquet file here (read from the files' metadata)", async () => {
    for (const t of GLUE_TASKS.filter((x) => x.hub.labelKind === 'classLabel')) {
      for (const s of t.splits) {
        const path = resolve(hubDir, hubParquetPath(t, s));
        let buf;
        try {
          buf = await nodeAsyncBuffer(path);
        } catch {
          continue; // not in the assets (MNLI train, QQP train/test, …)
        }
        const meta = await parquetMetadataAsync(buf);
        const hf = JSON.parse(meta.key_value_metadata!.find((k) => k.key === 'huggingface')!.value!);
        expect(hf.info.features.label.names, `${t.name}/${s.name}`).toEqual(t.hub.classLabels!.map(([h]) => h));
      }
    }
  });
});

describe('row counts of the real files equal the official counts', () => {
  const official = officialCounts();

  it('GLUE TSV distribution (every split present, test splits included)', async () => {
    const tsv = await tsvSourceFromPath(glueDir);
    const seen: string[] = [];
    for (const t of GLUE_TASKS) {
      for (const s of t.splits) {
        if (!(await tsv.locate(t, s.name))) continue;
        seen.push(`${t.name}/${s.name}`);
        expect(await count(tsv, t.name, s.name), `${t.name}/${s.name}`).toBe(official.get(`${t.name}/${s.name}`));
      }
    }
    expect(seen).toEqual([
      'CoLA/train',
      'CoLA/dev',
      'CoLA/test',
      'SST-2/train',
      'SST-2/dev',
      'SST-2/test',
      'MRPC/train',
      'MRPC/dev',
      'MRPC/test',
      'STS-B/train',
      'STS-B/dev',
      'STS-B/test',
      'QNLI/dev',
      'QNLI/test',
      'RTE/train',
      'RTE/dev',
      'RTE/test',
      'WNLI/train',
      'WNLI/dev',
      'WNLI/test',
      'AX/test',
    ]);
  });

  it('Hub Parquet files (every split present, test splits included; SciTail from its dataset card counts)', async () => {
    const pq = parquetSourceFromPath(hubDir);
    const seen: string[] = [];
    for (const t of GLUE_TASKS) {
      for (const s of t.splits) {
        if (!(await pq.locate(t, s.name))) continue;
        seen.push(`${t.name}/${s.name}`);
        const expected = official.get(`${t.name}/${s.name}`) ?? s.rows;
        expect(await count(pq, t.name, s.name), `${t.name}/${s.name}`).toBe(expected);
      }
    }
    expect(seen).toEqual([
      'CoLA/train',
      'CoLA/dev',
      'CoLA/test',
      'SST-2/train',
      'SST-2/dev',
      'SST-2/test',
      'MRPC/train',
      'MRPC/dev',
      'MRPC/test',
      'STS-B/train',
      'STS-B/dev',
      'STS-B/test',
      'QQP/dev',
      'MNLI/dev_matched',
      'MNLI/dev_mismatched',
      'MNLI/test_matched',
      'MNLI/test_mismatched',
      'QNLI/dev',
      'QNLI/test',
      'RTE/train',
      'RTE/dev',
      'RTE/test',
      'WNLI/train',
      'WNLI/dev',
      'WNLI/test',
      'AX/test',
      'SciTail/dev',
      'SciTail/test',
    ]);
    // The assets README gives SciTail's counts in words: validation 1304, test 2126.
    expect(getSplit(getTask('SciTail'), 'dev').rows).toBe(1304);
    expect(getSplit(getTask('SciTail'), 'test').rows).toBe(2126);
  });

  it("maps the Hub's integer labels through their names to the registry order (MNLI, SciTail)", async () => {
    const pq = parquetSourceFromPath(hubDir);
    for (const [task, split] of [
      ['MNLI', 'dev_matched'],
      ['MNLI', 'dev_mismatched'],
      ['SciTail', 'dev'],
    ] as const) {
      const t = getTask(task);
      const file = await nodeAsyncBuffer(resolve(hubDir, hubParquetPath(t, getSplit(t, split))));
      const meta = await parquetMetadataAsync(file);
      const raw = await parquetReadObjects({ file, columns: [t.hub.label] });
      // Independent path: the raw value → the Hub's own name → the registry label the name stands for.
      const names: string[] | undefined = JSON.parse(meta.key_value_metadata!.find((k) => k.key === 'huggingface')!.value!).info.features[t.hub.label].names;
      const expected = raw.map((r) => {
        const hubName = names ? names[Number(r[t.hub.label])] : String(r[t.hub.label]);
        return t.labels!.indexOf(t.hub.classLabels!.find(([h]) => h === hubName)![1]);
      });
      const got: number[] = [];
      for await (const ex of pq.open(t, split)) got.push(ex.label!);
      expect(got).toEqual(expected);
      if (task === 'MNLI') {
        // The Hub stores entailment as 0; in the registry it is class 2.
        const firstEntailment = raw.findIndex((r) => Number(r.label) === 0);
        expect(got[firstEntailment]).toBe(2);
      }
    }
  });
});
