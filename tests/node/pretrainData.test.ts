import { beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../helpers/nodeBackends.ts';
import { memoryFileProvider } from '../../src/engine/data/fileProvider.ts';
import { TsvSource } from '../../src/engine/data/tsvSource.ts';
import { packSentences, readGlueText } from '../../src/engine/pretrain/corpus.ts';
import { maskBatch } from '../../src/engine/pretrain/masking.ts';
import { Rng } from '../../src/engine/runtime/rng.ts';
import { tokenizer, vocab } from '../helpers/pretrainTiny.ts';

// wasm: the 200-step loop takes ~14 s there and ~90 s on tfjs's cpu backend (both run on the CPU).
beforeAll(async () => {
  await useBackend('wasm');
});

describe('maskingVocab', () => {
  it('draws replacements from the 195 tokens of the tiny vocab that are not bracketed specials', () => {
    // random-tiny: 200 lines = [PAD] [UNK] [CLS] [SEP] [MASK] … [unused0]…[unused4]; 200 − 5 − 5 = 190.
    expect(vocab.randomIds.length).toBe(190);
    const tokens = [...vocab.randomIds].map((i) => tokenizer.vocab.tokens[i]);
    expect(tokens.some((t) => /^\[.*\]$/.test(t))).toBe(false);
    expect(tokens).toContain('['); // punctuation is an ordinary token
    expect([...vocab.specialIds].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4]);
  });
});

describe('BERT masking (15 %, 80/10/10)', () => {
  const B = 4000;
  const T = 40;
  const rng = new Rng(11);
  const ids = new Int32Array(B * T);
  const mask = new Int32Array(B * T);
  let candidates = 0;
  for (let b = 0; b < B; b++) {
    const len = 5 + rng.int(T - 4); // 5..40 real tokens
    for (let t = 0; t < len; t++) {
      const i = b * T + t;
      mask[i] = 1;
      // Specials sprinkled in: [CLS] first, [SEP] last, some [UNK].
      ids[i] =
        t === 0 ? tokenizer.clsId : t === len - 1 ? tokenizer.sepId : rng.uniform() < 0.05 ? tokenizer.unkId : vocab.randomIds[rng.int(vocab.randomIds.length)];
      if (!vocab.specialIds.has(ids[i])) candidates++;
    }
    // padding keeps id 0 ([PAD]) and mask 0
  }
  const m = maskBatch(ids, mask, B, T, vocab, new Rng(5));

  it('chooses 15 % ± 1 % of the candidate tokens, at least one per sequence, never specials or padding', () => {
    expect(Math.abs(m.positions.length / candidates - 0.15)).toBeLessThan(0.01);
    const perRow = new Int32Array(B);
    for (const i of m.positions) {
      perRow[Math.floor(i / T)]++;
      expect(mask[i]).toBe(1);
      expect(vocab.specialIds.has(ids[i])).toBe(false);
    }
    expect(Math.min(...perRow)).toBeGreaterThanOrEqual(1);
    for (let i = 0; i < B * T; i++) {
      if (m.labels[i] !== -1) expect(m.labels[i]).toBe(ids[i]);
    }
    expect(m.labels.filter((l) => l !== -1).length).toBe(m.positions.length);
    expect([...m.targets]).toEqual([...m.positions].map((i) => ids[i]));
  });

  it('replaces 80 % ± 2 % with [MASK], 10 % ± 2 % with a random non-special token, leaves 10 % ± 2 % unchanged', () => {
    let masked = 0;
    let random = 0;
    let same = 0;
    for (const i of m.positions) {
      if (m.inputIds[i] === tokenizer.maskId) masked++;
      else if (m.inputIds[i] === ids[i]) same++;
      else {
        random++;
        expect(vocab.specialIds.has(m.inputIds[i])).toBe(false);
        expect(tokenizer.vocab.tokens[m.inputIds[i]]).not.toMatch(/^\[.*\]$/);
      }
    }
    const n = m.positions.length;
    expect(Math.abs(masked / n - 0.8)).toBeLessThan(0.02);
    // A random draw equal to the original (1 in 190) counts as unchanged.
    expect(Math.abs(random / n - 0.1)).toBeLessThan(0.02);
    expect(Math.abs(same / n - 0.1)).toBeLessThan(0.02);
    // Positions not chosen are untouched.
    let changedElsewhere = 0;
    for (let i = 0; i < B * T; i++) if (m.labels[i] === -1 && m.inputIds[i] !== ids[i]) changedElsewhere++;
    expect(changedElsewhere).toBe(0);
  });

  it('is deterministic for a seed and differs between seeds', () => {
    const again = maskBatch(ids, mask, B, T, vocab, new Rng(5));
    expect(again.inputIds).toEqual(m.inputIds);
    expect(again.positions).toEqual(m.positions);
    const other = maskBatch(ids, mask, B, T, vocab, new Rng(6));
    expect(other.positions).not.toEqual(m.positions);
  });

  it('rejects inputs of the wrong size', () => {
    expect(() => maskBatch(ids.subarray(0, 10), mask, B, T, vocab, new Rng(1))).toThrow(
      'masking: expected 4000·40 = 160000 ids and mask values, got 10 and 160000',
    );
  });
});

describe('corpus', () => {
  it("reads every split's text once (deduplicated, labels ignored) from a GLUE layout", async () => {
    const source = new TsvSource(
      memoryFileProvider({
        'CoLA/train.tsv': 'gj04\t1\t\tThe cat sat.\ngj04\t0\t*\tCat the sat.\n',
        'CoLA/dev.tsv': 'gj04\t1\t\tThe cat sat.\n',
        'RTE/dev.tsv': 'index\tsentence1\tsentence2\tlabel\n0\tA dog runs.\tThe cat sat.\tentailment\n',
        'RTE/test.tsv': 'index\tsentence1\tsentence2\n0\tA dog runs.\tIt rains.\n',
      }),
    );
    const text = await readGlueText(source);
    expect(text.texts).toEqual(['The cat sat.', 'Cat the sat.', 'A dog runs.', 'It rains.']);
    expect(text.perSplit).toEqual({ 'CoLA/train': 2, 'CoLA/dev': 1, 'RTE/dev': 1, 'RTE/test': 1 });
    await expect(readGlueText(new TsvSource(memoryFileProvider({ 'RTE/README': 'x' })))).rejects.toThrow('no GLUE task folder found');
  });

  it('packs consecutive sentences into [CLS] A [SEP] B [SEP] of at most maxLength, in order', () => {
    const sentences = Array.from({ length: 40 }, (_, s) => Array.from({ length: 1 + (s % 7) }, (_, j) => 100 + ((s * 7 + j) % 90)));
    const packed = packSentences(sentences, { maxLength: 16, clsId: 2, sepId: 3 }, new Rng(3));
    let rebuilt: number[] = [];
    for (const p of packed) {
      expect(p.ids.length).toBeLessThanOrEqual(16);
      expect(p.ids[0]).toBe(2);
      expect(p.ids[p.ids.length - 1]).toBe(3);
      const seps = [...p.ids].flatMap((x, i) => (x === 3 ? [i] : []));
      expect(seps.length === 1 || seps.length === 2).toBe(true);
      // types: 0 through the first [SEP], 1 after it
      expect([...p.typeIds]).toEqual([...p.ids].map((_, i) => (i <= seps[0] ? 0 : 1)));
      rebuilt = rebuilt.concat([...p.ids].filter((x) => x !== 2 && x !== 3));
    }
    // Only truncation drops tokens: the content is a subsequence of the text, starting at the start.
    const all = sentences.flat();
    expect(rebuilt.slice(0, 5)).toEqual(all.slice(0, 5));
    let k = 0;
    for (const x of rebuilt) {
      while (k < all.length && all[k] !== x) k++;
      expect(k).toBeLessThan(all.length);
      k++;
    }
    expect(rebuilt.length).toBeGreaterThan(0.7 * all.length);
  });
});
