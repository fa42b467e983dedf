import { basicTokenizeChunk, splitIntoChunks } from './basicTokenizer.ts';
import { truncateSeqPair } from './truncation.ts';
import type { EncodeOptions, Encoding, TextPair } from './types.ts';
import { parseVocabText, requireTokenId, SPECIAL_TOKENS, type Vocab } from './vocab.ts';
import { vocabHash } from './vocabHash.ts';
import { WordPiece } from './wordpiece.ts';

export interface BertTokenizerOptions {
  /** Uncased models lower-case and strip accents (tokenizer_config.json's `do_lower_case`). */
  doLowerCase: boolean;
  /** Name for error messages, e.g. the vocab file's path. Default "vocab.txt". */
  source?: string;
  /** Chunk → ids cache size; the cache is cleared when it grows past this. Default 100,000. */
  maxCacheEntries?: number;
}

const DEFAULT_MAX_CACHE_ENTRIES = 100_000;

/** The WordPiece ids and tokens of one whitespace chunk. */
interface ChunkPieces {
  readonly ids: number[];
  readonly tokens: string[];
}

/**
 * Google BERT's FullTokenizer plus run_classifier's input building: `[CLS] a [SEP] (b [SEP])`,
 * `_truncate_seq_pair` truncation and padding with `[PAD]`. Pure TS, no Node APIs (runs in workers).
 */
export class BertTokenizer {
  readonly clsId: number;
  readonly sepId: number;
  readonly unkId: number;
  readonly padId: number;
  private readonly maskIdOrUndefined: number | undefined;
  private readonly wordPiece: WordPiece;
  /** Whitespace chunk → its WordPieces. Every step after the whitespace split is chunk-local. */
  private readonly chunkCache = new Map<string, ChunkPieces>();
  private readonly maxCacheEntries: number;
  private hash: Promise<string> | undefined;

  constructor(
    readonly vocab: Vocab,
    readonly doLowerCase: boolean,
    maxCacheEntries = DEFAULT_MAX_CACHE_ENTRIES,
  ) {
    this.clsId = requireTokenId(vocab, SPECIAL_TOKENS.cls);
    this.sepId = requireTokenId(vocab, SPECIAL_TOKENS.sep);
    this.unkId = requireTokenId(vocab, SPECIAL_TOKENS.unk);
    this.padId = requireTokenId(vocab, SPECIAL_TOKENS.pad);
    this.maskIdOrUndefined = vocab.ids.get(SPECIAL_TOKENS.mask);
    this.wordPiece = new WordPiece(vocab, this.unkId);
    this.maxCacheEntries = maxCacheEntries;
  }

  static fromVocabText(text: string, opts: BertTokenizerOptions): BertTokenizer {
    return new BertTokenizer(parseVocabText(text, opts.source ?? 'vocab.txt'), opts.doLowerCase, opts.maxCacheEntries);
  }

  /** `[MASK]` is only needed for masked-LM work, so its absence is an error only when asked for. */
  get maskId(): number {
    if (this.maskIdOrUndefined === undefined) return requireTokenId(this.vocab, SPECIAL_TOKENS.mask);
    return this.maskIdOrUndefined;
  }

  get vocabSize(): number {
    return this.vocab.tokens.length;
  }

  /** SHA-256 hex of the vocab (see vocabHash.ts), for cache manifests. */
  vocabHash(): Promise<string> {
    this.hash ??= vocabHash(this.vocab);
    return this.hash;
  }

  /** WordPiece ids of a text, without special tokens or truncation. */
  tokenizeToIds(text: string): number[] {
    const ids: number[] = [];
    for (const chunk of this.segment(text)) for (const id of chunk.ids) ids.push(id);
    return ids;
  }

  /** WordPiece tokens of a text, without special tokens or truncation. */
  tokenize(text: string): string[] {
    const tokens: string[] = [];
    for (const chunk of this.segment(text)) for (const token of chunk.tokens) tokens.push(token);
    return tokens;
  }

  /** Like Google's convert_tokens_to_ids, a token outside the vocab is an error. */
  convertTokensToIds(tokens: readonly string[]): number[] {
    return tokens.map((token, i) => {
      const id = this.vocab.ids.get(token);
      if (id === undefined) throw new Error(`${this.vocab.source}: token ${JSON.stringify(token)} (index ${i}) is not in the vocabulary`);
      return id;
    });
  }

  convertIdsToTokens(ids: readonly number[]): string[] {
    const tokens = this.vocab.tokens;
    return ids.map((id, i) => {
      const token = tokens[id];
      if (token === undefined) throw new Error(`${this.vocab.source}: id ${id} (index ${i}) is outside the vocabulary of ${tokens.length}`);
      return token;
    });
  }

  /**
   * `[CLS] a [SEP]`, or `[CLS] a [SEP] b [SEP]` when `textB` is a non-empty string (an empty string is a
   * single sequence, as Google's `if example.text_b:`; whitespace-only b is a pair with no b tokens).
   */
  encode(textA: string, textB: string | null | undefined, opts: EncodeOptions): Encoding {
    // For one sequence 'longest' is its own length, i.e. no padding.
    const enc = this.encodeUnpadded(textA, textB, opts.maxLength);
    return (opts.padding ?? 'max_length') === 'max_length' ? this.pad(enc, opts.maxLength) : enc;
  }

  /** Encodes every pair; padding 'longest' (default) pads to the batch's longest, 'max_length' to maxLength. */
  encodeBatch(pairs: readonly TextPair[], opts: EncodeOptions): Encoding[] {
    const padding = opts.padding ?? 'longest';
    const encodings = pairs.map(([a, b]) => this.encodeUnpadded(a, b, opts.maxLength));
    if (padding === 'none') return encodings;
    let target = opts.maxLength;
    if (padding === 'longest') {
      target = 0;
      for (const e of encodings) target = Math.max(target, e.length);
    }
    return encodings.map((e) => this.pad(e, target));
  }

  /** The WordPieces of each chunk of a text. */
  private segment(text: string): ChunkPieces[] {
    const chunks = splitIntoChunks(text);
    const out = new Array<ChunkPieces>(chunks.length);
    for (let c = 0; c < chunks.length; c++) {
      let pieces = this.chunkCache.get(chunks[c]);
      if (pieces === undefined) {
        const ids: number[] = [];
        for (const piece of basicTokenizeChunk(chunks[c], this.doLowerCase)) this.wordPiece.encodeWord(piece, ids);
        pieces = { ids, tokens: ids.map((id) => this.vocab.tokens[id]) };
        if (this.chunkCache.size >= this.maxCacheEntries) this.chunkCache.clear();
        this.chunkCache.set(chunks[c], pieces);
      }
      out[c] = pieces;
    }
    return out;
  }

  private encodeUnpadded(textA: string, textB: string | null | undefined, maxLength: number): Encoding {
    const isPair = textB !== null && textB !== undefined && textB !== '';
    const minLength = isPair ? 3 : 2;
    if (!Number.isInteger(maxLength) || maxLength < minLength) {
      throw new Error(`encode: maxLength must be an integer >= ${minLength} for a ${isPair ? 'pair' : 'single sequence'}, got ${maxLength}`);
    }
    const segA = this.segment(textA);
    const segB = isPair ? this.segment(textB) : [];
    let keepA: number;
    let keepB = 0;
    if (isPair) [keepA, keepB] = truncateSeqPair(countPieces(segA), countPieces(segB), maxLength - 3);
    else keepA = Math.min(countPieces(segA), maxLength - 2);

    const cls = this.vocab.tokens[this.clsId];
    const sep = this.vocab.tokens[this.sepId];
    const inputIds: number[] = [this.clsId];
    const tokens: string[] = [cls];
    appendPieces(segA, keepA, inputIds, tokens);
    inputIds.push(this.sepId);
    tokens.push(sep);
    const lengthA = inputIds.length;
    if (isPair) {
      appendPieces(segB, keepB, inputIds, tokens);
      inputIds.push(this.sepId);
      tokens.push(sep);
    }
    const length = inputIds.length;
    const tokenTypeIds = new Array<number>(length).fill(0, 0, lengthA).fill(1, lengthA);
    return {
      tokens,
      inputIds,
      tokenTypeIds,
      attentionMask: new Array<number>(length).fill(1),
      length,
    };
  }

  private pad(enc: Encoding, target: number): Encoding {
    for (let i = enc.length; i < target; i++) {
      enc.inputIds.push(this.padId);
      enc.tokenTypeIds.push(0);
      enc.attentionMask.push(0);
    }
    return enc;
  }
}

function countPieces(segment: readonly ChunkPieces[]): number {
  let n = 0;
  for (let c = 0; c < segment.length; c++) n += segment[c].ids.length;
  return n;
}

/** Appends the first `limit` WordPieces of a segment to `ids` and `tokens`. */
function appendPieces(segment: readonly ChunkPieces[], limit: number, ids: number[], tokens: string[]): void {
  let left = limit;
  for (let c = 0; c < segment.length && left > 0; c++) {
    const chunk = segment[c];
    const n = Math.min(chunk.ids.length, left);
    for (let i = 0; i < n; i++) {
      ids.push(chunk.ids[i]);
      tokens.push(chunk.tokens[i]);
    }
    left -= n;
  }
}
