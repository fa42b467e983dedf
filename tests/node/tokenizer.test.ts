import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { describe, expect, it } from 'vitest';
import { BasicTokenizer } from '../../src/engine/tokenizer/basicTokenizer.ts';
import { BertTokenizer } from '../../src/engine/tokenizer/bertTokenizer.ts';
import { truncateSeqPair, truncateSeqPairByPopping } from '../../src/engine/tokenizer/truncation.ts';
import type { TextPair } from '../../src/engine/tokenizer/types.ts';
import { parseVocabText } from '../../src/engine/tokenizer/vocab.ts';
import { vocabHash } from '../../src/engine/tokenizer/vocabHash.ts';
import { WordPiece } from '../../src/engine/tokenizer/wordpiece.ts';
import { assetsDir, FIXTURE_NAMES, fixtureModelDir, glueDir, loadFixture, repoRoot, sharedDir } from '../helpers/shared.ts';

const vocabPath = (name: (typeof FIXTURE_NAMES)[number]) => resolve(fixtureModelDir(name), 'vocab.txt');
const bertTinyDir = resolve(assetsDir, 'models/bert-tiny-uncased');

function fixtureTokenizer(name: (typeof FIXTURE_NAMES)[number]): BertTokenizer {
  return BertTokenizer.fromVocabText(readFileSync(vocabPath(name), 'utf8'), {
    doLowerCase: loadFixture(name).do_lower_case,
    source: vocabPath(name),
  });
}

/** GLUE TSV rows without the header (the GLUE files are plain tab-separated, no quoting). */
function tsvRows(path: string): string[][] {
  const lines = readFileSync(path, 'utf8')
    .replace(/^\uFEFF/, '')
    .split('\n')
    .slice(1);
  return lines.filter((l) => l.length > 0).map((l) => l.split('\t'));
}

function glueDevCases(): TextPair[] {
  const sst = tsvRows(resolve(glueDir, 'SST-2/dev.tsv')).map((r): TextPair => [r[0], null]);
  const rte = tsvRows(resolve(glueDir, 'RTE/dev.tsv')).map((r): TextPair => [r[1], r[2]]);
  return [...sst, ...rte];
}

describe.each(FIXTURE_NAMES)('fixture %s', (name) => {
  const fx = loadFixture(name);
  const tok = fixtureTokenizer(name);

  it('encodes every example exactly as refbert (padded to max_seq_len)', () => {
    expect(fx.examples.length).toBeGreaterThan(10);
    for (const ex of fx.examples) {
      const enc = tok.encode(ex.text_a, ex.text_b, { maxLength: fx.max_seq_len, padding: 'max_length' });
      expect({ id: ex.id, tokens: enc.tokens, ids: enc.inputIds, types: enc.tokenTypeIds, mask: enc.attentionMask, n: enc.length }).toEqual({
        id: ex.id,
        tokens: ex.tokens,
        ids: ex.input_ids,
        types: ex.token_type_ids,
        mask: ex.attention_mask,
        n: ex.n_tokens,
      });
    }
  });

  it('tokenize() gives the untruncated a/b tokens', () => {
    for (const ex of fx.examples) {
      expect(tok.tokenize(ex.text_a)).toEqual(ex.tokens_a_untruncated);
      // refbert stores null for b when it encoded a single sequence (b null or "").
      const b = ex.text_b === null || ex.text_b === '' ? null : tok.tokenize(ex.text_b);
      expect(b).toEqual(ex.tokens_b_untruncated);
    }
  });

  it('matches every tokenizer_cases entry (each with its own max_seq_len)', () => {
    expect(fx.tokenizer_cases.length).toBeGreaterThan(10);
    for (const c of fx.tokenizer_cases) {
      const enc = tok.encode(c.text_a, c.text_b, { maxLength: c.max_seq_len, padding: 'max_length' });
      expect({ a: c.text_a, b: c.text_b, tokens: enc.tokens, ids: enc.inputIds, types: enc.tokenTypeIds, mask: enc.attentionMask }).toEqual({
        a: c.text_a,
        b: c.text_b,
        tokens: c.tokens,
        ids: c.input_ids,
        types: c.token_type_ids,
        mask: c.attention_mask,
      });
    }
  });

  it('encodeBatch pads to the longest, to max_length, or not at all', () => {
    const pairs: TextPair[] = fx.examples.map((ex: any): TextPair => [ex.text_a, ex.text_b]);
    const longest = tok.encodeBatch(pairs, { maxLength: fx.max_seq_len });
    const maxN = Math.max(...fx.examples.map((ex: any) => ex.n_tokens));
    longest.forEach((enc, i) => {
      const ex = fx.examples[i];
      expect(enc.inputIds).toEqual(ex.input_ids.slice(0, maxN));
      expect(enc.tokenTypeIds).toEqual(ex.token_type_ids.slice(0, maxN));
      expect(enc.attentionMask).toEqual(ex.attention_mask.slice(0, maxN));
      expect(enc.length).toBe(ex.n_tokens);
    });
    const full = tok.encodeBatch(pairs, { maxLength: fx.max_seq_len, padding: 'max_length' });
    expect(full.map((e) => e.inputIds)).toEqual(fx.examples.map((ex: any) => ex.input_ids));
    const none = tok.encodeBatch(pairs, { maxLength: fx.max_seq_len, padding: 'none' });
    expect(none.map((e) => e.inputIds)).toEqual(fx.examples.map((ex: any) => ex.input_ids.slice(0, ex.n_tokens)));
    expect(none.map((e) => e.attentionMask.length)).toEqual(fx.examples.map((ex: any) => ex.n_tokens));
  });

  it('gives the same results with a tiny, constantly cleared chunk cache', () => {
    const small = BertTokenizer.fromVocabText(readFileSync(vocabPath(name), 'utf8'), { doLowerCase: fx.do_lower_case, maxCacheEntries: 2 });
    for (const ex of fx.examples) {
      expect(small.encode(ex.text_a, ex.text_b, { maxLength: fx.max_seq_len }).inputIds).toEqual(ex.input_ids);
    }
  });

  it('hashes the vocab as sha256sum of vocab.txt', async () => {
    const sums = readFileSync(resolve(assetsDir, 'SHA256SUMS'), 'utf8');
    const expected = sums.match(new RegExp(`^([0-9a-f]{64})  \\./fixtures/${name}/vocab\\.txt$`, 'm'))?.[1];
    expect(expected).toMatch(/^[0-9a-f]{64}$/);
    expect(await tok.vocabHash()).toBe(expected);
    expect(await tok.vocabHash()).toBe(
      createHash('sha256')
        .update(readFileSync(vocabPath(name)))
        .digest('hex'),
    );
  });
});

describe('special ids and vocab size', () => {
  it('reads them from the real uncased vocab', () => {
    const tok = BertTokenizer.fromVocabText(readFileSync(resolve(bertTinyDir, 'vocab.txt'), 'utf8'), { doLowerCase: true });
    expect([tok.padId, tok.unkId, tok.clsId, tok.sepId, tok.maskId, tok.vocabSize]).toEqual([0, 100, 101, 102, 103, 30522]);
    expect(tok.convertTokensToIds(['[CLS]', 'hello', '##ing'])).toEqual([101, 7592, 2075]);
    expect(() => tok.convertTokensToIds(['hello', 'notatoken'])).toThrow('vocab.txt: token "notatoken" (index 1) is not in the vocabulary');
    expect(() => tok.convertIdsToTokens([5, 30522])).toThrow('vocab.txt: id 30522 (index 1) is outside the vocabulary of 30522');
  });
});

describe('vocab.txt parsing', () => {
  const lines = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'hello', '##ing'];

  it('accepts LF, CRLF, CR, a missing final newline and a BOM with identical ids and hash', async () => {
    const lf = parseVocabText(lines.join('\n') + '\n');
    const variants = [lines.join('\r\n') + '\r\n', lines.join('\r'), lines.join('\n'), '\uFEFF' + lines.join('\n') + '\n'];
    for (const text of variants) {
      const v = parseVocabText(text);
      expect(v.tokens).toEqual(lines);
      expect([...v.ids]).toEqual([...lf.ids]);
      expect(await vocabHash(v)).toBe(await vocabHash(lf));
    }
    expect(await vocabHash(lf)).toBe(
      createHash('sha256')
        .update(lines.join('\n') + '\n')
        .digest('hex'),
    );
  });

  it('strips each line like Python and keeps the last id of a duplicate (as Google BERT and Hugging Face do)', () => {
    const v = parseVocabText('[PAD]\n  hello \t\nhello\n\n\u3000x\n');
    expect(v.tokens).toEqual(['[PAD]', 'hello', 'hello', '', 'x']);
    expect(v.ids.get('hello')).toBe(2);
    expect(v.ids.get('')).toBe(3);
  });

  it('names the missing special token and the file', () => {
    const text = readFileSync(vocabPath('random-tiny'), 'utf8');
    for (const special of ['[CLS]', '[SEP]', '[UNK]', '[PAD]']) {
      const without = text
        .split('\n')
        .filter((t) => t !== special)
        .join('\n');
      expect(() => BertTokenizer.fromVocabText(without, { doLowerCase: true })).toThrow(new Error(`vocab.txt: missing special token ${special}`));
      expect(() => BertTokenizer.fromVocabText(without, { doLowerCase: true, source: 'models/x/vocab.txt' })).toThrow(
        new Error(`models/x/vocab.txt: missing special token ${special}`),
      );
    }
    expect(() => BertTokenizer.fromVocabText('', { doLowerCase: true, source: 'empty.txt' })).toThrow(new Error('empty.txt: empty vocabulary'));
  });

  it('needs [MASK] only when its id is asked for', () => {
    const tok = BertTokenizer.fromVocabText('[PAD]\n[UNK]\n[CLS]\n[SEP]\nhi\n', { doLowerCase: true, source: 'mini.txt' });
    expect(tok.encode('hi', null, { maxLength: 4 }).inputIds).toEqual([2, 4, 3, 0]);
    expect(() => tok.maskId).toThrow(new Error('mini.txt: missing special token [MASK]'));
  });
});

describe('google-research/bert tokenization_test.py cases', () => {
  it('BasicTokenizer lower and cased', () => {
    expect(new BasicTokenizer(true).tokenize(' \tHeLLo!how  \n Are yoU?  ')).toEqual(['hello', '!', 'how', 'are', 'you', '?']);
    expect(new BasicTokenizer(true).tokenize('H\u00E9llo')).toEqual(['hello']);
    expect(new BasicTokenizer(true).tokenize('ah\u535A\u63A8zz')).toEqual(['ah', '\u535A', '\u63A8', 'zz']);
    expect(new BasicTokenizer(false).tokenize(' \tHeLLo!how  \n Are yoU?  ')).toEqual(['HeLLo', '!', 'how', 'Are', 'yoU', '?']);
  });

  it('WordPiece and the full tokenizer', () => {
    const googleVocab = ['[UNK]', '[CLS]', '[SEP]', 'want', '##want', '##ed', 'wa', 'un', 'runn', '##ing', ','];
    const v = parseVocabText(googleVocab.join('\n'));
    const wp = new WordPiece(v, 0);
    const words = (s: string) => s.split(' ').flatMap((w) => wp.tokenizeWord(w));
    expect(words('unwanted running')).toEqual(['un', '##want', '##ed', 'runn', '##ing']);
    expect(words('unwantedX running')).toEqual(['[UNK]', 'runn', '##ing']);
    // [PAD] appended so the Google ids stay as in the original test.
    const tok = BertTokenizer.fromVocabText([...googleVocab, '[PAD]'].join('\n'), { doLowerCase: true });
    const tokens = tok.tokenize('UNwant\u00E9d,running');
    expect(tokens).toEqual(['un', '##want', '##ed', ',', 'runn', '##ing']);
    expect(tok.convertTokensToIds(tokens)).toEqual([7, 4, 5, 10, 8, 9]);
  });

  it('counts word length in code points (100 max), not UTF-16 units', () => {
    const astral = '\u{1D400}';
    const v = parseVocabText(['[UNK]', astral, '##' + astral].join('\n'));
    const wp = new WordPiece(v, 0);
    expect(wp.tokenizeWord(astral.repeat(100))).toEqual([astral, ...new Array(99).fill('##' + astral)]);
    expect(wp.tokenizeWord(astral.repeat(101))).toEqual(['[UNK]']);
  });
});

describe('truncation', () => {
  it('closed form equals the _truncate_seq_pair pop loop', () => {
    const mismatches: string[] = [];
    let checked = 0;
    for (let a = 0; a <= 24; a++)
      for (let b = 0; b <= 24; b++)
        for (let m = 0; m <= 50; m++, checked++) {
          const [x, y] = truncateSeqPair(a, b, m);
          const [px, py] = truncateSeqPairByPopping(a, b, m);
          if (x !== px || y !== py) mismatches.push(`(${a},${b},${m}): ${x},${y} vs ${px},${py}`);
        }
    expect(checked).toBe(25 * 25 * 51);
    expect(mismatches).toEqual([]);
    // The fixture's hand-worked cases: budget 6 of 8/8 → 3/3; budget 7 → a 4, b 3 (ties pop b).
    expect(truncateSeqPair(8, 8, 6)).toEqual([3, 3]);
    expect(truncateSeqPair(8, 8, 7)).toEqual([4, 3]);
  });

  it('rejects a maxLength that cannot hold the special tokens', () => {
    const tok = fixtureTokenizer('random-tiny');
    expect(() => tok.encode('a', 'b', { maxLength: 2 })).toThrow(new Error('encode: maxLength must be an integer >= 3 for a pair, got 2'));
    expect(() => tok.encode('a', null, { maxLength: 1 })).toThrow(new Error('encode: maxLength must be an integer >= 2 for a single sequence, got 1'));
    expect(tok.encode('a b c', 'd e', { maxLength: 3 }).tokens).toEqual(['[CLS]', '[SEP]', '[SEP]']);
  });
});

describe('cross-check on GLUE dev (SST-2 sentences, RTE pairs)', () => {
  const cases = glueDevCases();
  const tok = BertTokenizer.fromVocabText(readFileSync(resolve(bertTinyDir, 'vocab.txt'), 'utf8'), { doLowerCase: true });

  it('has the expected number of rows', () => {
    expect(cases.length).toBe(872 + 277);
  });

  it('gives the same ids and type ids as @huggingface/tokenizers on every row', () => {
    const hf = new Tokenizer(
      JSON.parse(readFileSync(resolve(bertTinyDir, 'tokenizer.json'), 'utf8')),
      JSON.parse(readFileSync(resolve(bertTinyDir, 'tokenizer_config.json'), 'utf8')),
    );
    // The package does not truncate, so encode without a practical length limit.
    const ours = cases.map(([a, b]) => {
      const e = tok.encode(a, b, { maxLength: 100_000, padding: 'none' });
      return { ids: e.inputIds, types: e.tokenTypeIds };
    });
    const theirs = cases.map(([a, b]) => {
      const e = hf.encode(a, b ? { text_pair: b, return_token_type_ids: true } : { return_token_type_ids: true });
      return { ids: e.ids, types: e.token_type_ids };
    });
    const differing = ours.map((o, i) => i).filter((i) => JSON.stringify(ours[i]) !== JSON.stringify(theirs[i]));
    expect(differing).toEqual([]);
    expect(ours.reduce((s, o) => s + o.ids.length, 0)).toBeGreaterThan(20_000);
  });
});

describe('refbert.py (python3) agreement', () => {
  // Edge cases the fixtures do not cover, checked in both lower-casing modes against the Python reference.
  const edgeTexts = [
    'ΌΣΟΣ όσος Ǆemal ǅ ǆ',
    'ﬃ Å\u212B \u212Akelvin',
    'a\u0301b\u0327c e\u20dd',
    'x\u200dy\u2060z\u00adw',
    'line\u2028sep\u2029para\u0085nel\u001ffs',
    '\u{1D400}bold \u{1F600}smile \u{20000}\u{2A6D6}cjk',
    'pua\uE000\uF8FFend \uFFFDrepl\u0000nul',
    'İİ ı ß ẞ ǰ ΐ',
    '“quotes” ‘single’ — – … ¡¿ «» ¶ § • ※ 〃 ・',
    'Mixed CASE Déjà-vu, naïve coöperation; façade!',
    '\t  \n',
  ];

  it('matches refbert FullTokenizer on edge texts (cased and uncased) and on GLUE dev (uncased)', () => {
    const vocab = resolve(bertTinyDir, 'vocab.txt');
    const glue = glueDevCases();
    const jobs: Array<{ a: string; b: string | null; lower: boolean }> = [
      ...edgeTexts.flatMap((a) => [true, false].map((lower) => ({ a, b: null, lower }))),
      ...edgeTexts.map((a, i) => ({ a, b: edgeTexts[(i + 3) % edgeTexts.length], lower: true })),
      ...glue.map(([a, b]) => ({ a, b: b ?? null, lower: true })),
      ...glue.slice(0, 200).map(([a, b]) => ({ a, b: b ?? null, lower: false })),
    ];
    const script = [
      'import json, sys',
      `sys.path.insert(0, ${JSON.stringify(resolve(sharedDir, 'tools/refbert'))})`,
      'import refbert as rb',
      'job = json.load(sys.stdin)',
      'vocab = rb.load_vocab(job["vocab"])',
      'toks = {True: rb.FullTokenizer(vocab, do_lower_case=True), False: rb.FullTokenizer(vocab, do_lower_case=False)}',
      'out = [toks[c["lower"]].encode(c["a"], c["b"], max_seq_len=64)["input_ids"] for c in job["cases"]]',
      'json.dump(out, sys.stdout)',
    ].join('\n');
    const res = spawnSync('python3', ['-c', script], { input: JSON.stringify({ vocab, cases: jobs }), encoding: 'utf8', maxBuffer: 1 << 26 });
    if (res.error || res.status !== 0) throw new Error(`python3 refbert failed: ${res.error ?? res.stderr}`);
    const expected: number[][] = JSON.parse(res.stdout);
    expect(expected.length).toBe(jobs.length);
    const text = readFileSync(vocab, 'utf8');
    const toks = { true: BertTokenizer.fromVocabText(text, { doLowerCase: true }), false: BertTokenizer.fromVocabText(text, { doLowerCase: false }) };
    const ours = jobs.map((j) => toks[`${j.lower}`].encode(j.a, j.b, { maxLength: 64 }).inputIds);
    for (let i = 0; i < jobs.length; i++) expect({ job: jobs[i], ids: ours[i] }).toEqual({ job: jobs[i], ids: expected[i] });
  });
});

describe('portability', () => {
  it('the tokenizer sources use no Node-only APIs (they run in Web Workers)', () => {
    const dir = resolve(repoRoot, 'src/engine/tokenizer');
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.ts'))) {
      const src = readFileSync(resolve(dir, file), 'utf8');
      expect({ file, nodeApi: src.match(/from ['"]node:|require\(|\bprocess\.|\bBuffer\b|__dirname/)?.[0] ?? null }).toEqual({ file, nodeApi: null });
    }
  });
});
