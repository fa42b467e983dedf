import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as v from 'valibot';
import { TsvSource } from '../../src/engine/data/tsvSource.ts';
import { nodeDirProvider } from '../../src/engine/platform/node/nodeFiles.ts';
import { ExperimentSchema } from '../../src/engine/experiment/experimentSchema.ts';
import { memorySplit } from '../../src/engine/train/memorySplit.ts';
import { trainRowsFor } from '../../src/engine/train/trainSubset.ts';
import {
  DOMAIN_FRACTIONS,
  domainAdaptationExperiment,
  nestedSubsetIndices,
  readSubsetExamples,
  subsetIndices,
  subsetLoadedSplit,
  subsetSize,
} from '../../src/engine/train/domainAdaptation.ts';

/*
 * Domain-adaptation subsets (docs/methods.md §1.13). SciTail and SNLI training files are not on this machine, so the test
 * writes small files in their layouts: SciTail's tsv_format (premise, hypothesis, label; no header) and the
 * GLUE-style SNLI folder (header, gold label last, '-' rows dropped by the reader).
 */

const SCITAIL_ROWS = 2000;
const SNLI_ROWS = 1500; // plus 50 '-' rows that the reader drops
const SNLI_HEADER = [
  'index',
  'captionID',
  'pairID',
  'sentence1_binary_parse',
  'sentence2_binary_parse',
  'sentence1_parse',
  'sentence2_parse',
  'sentence1',
  'sentence2',
  'label1',
  'gold_label',
];
const NLI3 = ['contradiction', 'neutral', 'entailment'];
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'taskscope-da-'));
  mkdirSync(join(dir, 'SciTailV1.1/tsv_format'), { recursive: true });
  const sci = Array.from({ length: SCITAIL_ROWS }, (_, i) => `premise ${i}\thypothesis ${i}\t${i % 3 === 0 ? 'entails' : 'neutral'}`);
  writeFileSync(join(dir, 'SciTailV1.1/tsv_format/scitail_1.0_train.tsv'), `${sci.join('\n')}\n`);
  mkdirSync(join(dir, 'SNLI'));
  const snli: string[] = [SNLI_HEADER.join('\t')];
  let id = 0;
  for (let i = 0; i < SNLI_ROWS; i++) {
    if (i % 30 === 0) snli.push([`u${id++}`, 'c', 'p', '', '', '', '', `no majority ${i}`, 'h', '-', '-'].join('\t'));
    snli.push([`u${id++}`, 'c', 'p', '', '', '', '', `a man ${i}`, `a person ${i}`, NLI3[i % 3], NLI3[i % 3]].join('\t'));
  }
  writeFileSync(join(dir, 'SNLI/train.tsv'), `${snli.join('\n')}\n`);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('subset sizes and indices', () => {
  it('round(f·n), at least one row', () => {
    expect(DOMAIN_FRACTIONS.map((f) => subsetSize(23596, f.fraction))).toEqual([24, 236, 2360, 23596]); // SciTail train
    expect(subsetSize(5, 0.001)).toBe(1);
    expect(subsetSize(1, 0.5)).toBe(1);
    expect(() => subsetSize(10, 0)).toThrow('domain adaptation: fraction must be in (0, 1], got 0');
    expect(() => subsetSize(0, 0.1)).toThrow('domain adaptation: the split has 0 rows; a subset needs at least 1');
  });

  it('same seed, same rows; nested across fractions; file order; another seed, other rows', () => {
    const fr = DOMAIN_FRACTIONS.map((f) => f.fraction);
    const a = nestedSubsetIndices(5000, fr, { task: 'SNLI', seed: 7 });
    const b = nestedSubsetIndices(5000, fr, { task: 'snli', seed: 7 });
    expect([...a.values()]).toEqual([...b.values()]);
    expect(a.get(0.01)).toEqual(subsetIndices(5000, 0.01, { task: 'SNLI', seed: 7 })); // the one-fraction call picks the same rows
    const sizes = fr.map((f) => a.get(f)!.length);
    expect(sizes).toEqual([5, 50, 500, 5000]);
    for (let k = 1; k < fr.length; k++) {
      const big = new Set(a.get(fr[k]));
      expect(a.get(fr[k - 1])!.every((r) => big.has(r))).toBe(true);
    }
    for (const rows of a.values()) for (let i = 1; i < rows.length; i++) expect(rows[i]).toBeGreaterThan(rows[i - 1]);
    expect(subsetIndices(5000, 0.01, { task: 'SNLI', seed: 8 })).not.toEqual(a.get(0.01));
    expect(subsetIndices(5000, 0.01, { task: 'SciTail', seed: 7 })).not.toEqual(a.get(0.01));
  });
});

describe('subsets of SciTail and SNLI files', () => {
  it('SciTail: reads the f-subset in two passes, labels in the registry order (neutral, entails)', async () => {
    const source = new TsvSource(nodeDirProvider(dir));
    const tiny = await readSubsetExamples(source, 'SciTail', 'train', 0.001, 3);
    const one = await readSubsetExamples(source, 'scitail', 'train', 0.01, 3);
    expect(tiny.length).toBe(2);
    expect(one.length).toBe(20);
    expect(one.map((e) => e.uid)).toEqual(subsetIndices(SCITAIL_ROWS, 0.01, { task: 'SciTail', seed: 3 }).map(String));
    const oneUids = new Set(one.map((e) => e.uid));
    expect(tiny.every((e) => oneUids.has(e.uid))).toBe(true);
    for (const e of one) {
      const row = Number(e.uid);
      expect(e.textA).toBe(`premise ${row}`);
      expect(e.textB).toBe(`hypothesis ${row}`);
      expect(e.label).toBe(row % 3 === 0 ? 1 : 0);
    }
    expect(await readSubsetExamples(source, 'SciTail', 'train', 0.01, 3)).toEqual(one);
  });

  it("SNLI: '-' rows are dropped before the subset is drawn; 10 % of the 1500 usable rows", async () => {
    const source = new TsvSource(nodeDirProvider(dir));
    const ten = await readSubsetExamples(source, 'SNLI', 'train', 0.1, 11);
    expect(ten.length).toBe(150);
    expect(ten.every((e) => e.textA.startsWith('a man '))).toBe(true);
    const full = await readSubsetExamples(source, 'SNLI', 'train', 1, 11);
    expect(full.length).toBe(SNLI_ROWS);
    // The subset's rows are those at the chosen positions of the usable rows.
    const picked = subsetIndices(SNLI_ROWS, 0.1, { task: 'SNLI', seed: 11 });
    expect(ten.map((e) => e.uid)).toEqual(picked.map((i) => full[i].uid));
    for (const e of ten) expect(NLI3[e.label!]).toBe(NLI3[Number(e.textA.slice(6)) % 3]);
  });

  it('subsets a tokenized split exactly as the trainer does for trainFraction (same rows as the index helper)', () => {
    const split = memorySplit(
      'SciTail',
      'train',
      Array.from({ length: 300 }, (_, i) => ({ ids: [2, 10 + (i % 7), 3], label: i % 2, uid: `r${i}` })),
    );
    const want = subsetIndices(300, 0.1, { task: 'SciTail', seed: 5 });
    const sub = subsetLoadedSplit(split, 0.1, 5);
    expect(sub.rows).toBe(30);
    expect(sub.uids).toEqual(want.map((i) => `r${i}`));
    expect(Array.from(sub.labels)).toEqual(want.map((i) => i % 2));
    expect(trainRowsFor(split, { name: 'SciTail', trainFraction: 0.1 }, 5).uids).toEqual(sub.uids);
    expect(subsetLoadedSplit(split, 1, 5)).toBe(split);
  });

  it('makes a valid experiment per subset with the domain-adaptation recipe', () => {
    const exp = domainAdaptationExperiment({ name: 'da', seed: 1 }, 'SNLI', 0.001);
    expect(exp).toMatchObject({
      name: 'da/snli_001',
      epochs: 3,
      batchSize: 8,
      optimizer: { kind: 'adamax', lr: 5e-5 },
      tasks: [{ name: 'SNLI', head: 'linear', trainFraction: 0.001 }],
    });
    expect(domainAdaptationExperiment({}, 'SciTail', 1)).toMatchObject({ name: 'scitail', batchSize: 32 });
    expect(v.safeParse(ExperimentSchema, exp).success).toBe(true);
    expect(() => domainAdaptationExperiment({}, 'RTE', 0.1)).toThrow('domain adaptation: RTE is not a domain-adaptation task (SciTail, SNLI)');
  });
});
