import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fixtureModelDir } from './shared.ts';
import { parseBertConfig } from '../../src/engine/checkpoint/bertConfig.ts';
import type { BertConfig } from '../../src/engine/checkpoint/types.ts';
import type { PackedSequence } from '../../src/engine/pretrain/corpus.ts';
import { maskingVocab } from '../../src/engine/pretrain/masking.ts';
import type { Rng } from '../../src/engine/runtime/rng.ts';
import { BertTokenizer } from '../../src/engine/tokenizer/bertTokenizer.ts';

/** The random-tiny model's vocabulary and config for the masked-LM pretraining tests. */
export const TINY = fixtureModelDir('random-tiny');
export const vocabText = readFileSync(join(TINY, 'vocab.txt'), 'utf8');
export const tokenizer = BertTokenizer.fromVocabText(vocabText, { doLowerCase: true });
export const vocab = maskingVocab(tokenizer.vocab.tokens, tokenizer);
export const tinyConfig = (overrides: Record<string, unknown> = {}): BertConfig =>
  parseBertConfig(JSON.stringify({ ...JSON.parse(readFileSync(join(TINY, 'config.json'), 'utf8')), initializer_range: 0.02, ...overrides }));

/** Sequences of random non-special tokens, `[CLS] a [SEP] b [SEP]` shaped. */
export function syntheticSequences(n: number, rng: Rng, minLen = 8, maxLen = 24): PackedSequence[] {
  return Array.from({ length: n }, () => {
    const len = minLen + rng.int(maxLen - minLen + 1);
    const cut = 2 + rng.int(len - 4);
    const ids = new Int32Array(len);
    const typeIds = new Int32Array(len);
    for (let t = 0; t < len; t++) ids[t] = vocab.randomIds[rng.int(vocab.randomIds.length)];
    ids[0] = tokenizer.clsId;
    ids[cut] = tokenizer.sepId;
    ids[len - 1] = tokenizer.sepId;
    typeIds.fill(1, cut + 1);
    return { ids, typeIds };
  });
}
