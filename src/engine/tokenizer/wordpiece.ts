import type { Vocab } from './vocab.ts';

export const CONTINUATION_PREFIX = '##';
export const MAX_INPUT_CHARS_PER_WORD = 100;

const SURROGATE_RE = /[\uD800-\uDFFF]/;

/**
 * Greedy longest-match-first WordPiece (Google's WordpieceTokenizer). Word length is counted in code
 * points, like Python, not UTF-16 units; a word over `maxInputCharsPerWord` or with an unmatchable
 * remainder becomes a single unknown token.
 */
export class WordPiece {
  /** Pieces that may start a word. */
  private readonly initial = new Map<string, number>();
  /** `##`-pieces keyed without the prefix, so matching needs no string concatenation. */
  private readonly continuation = new Map<string, number>();
  /** Longest key of each map in UTF-16 units: a candidate with more code points than this cannot match. */
  private readonly maxInitialLength: number;
  private readonly maxContinuationLength: number;

  constructor(
    private readonly vocab: Vocab,
    private readonly unkId: number,
    private readonly maxInputCharsPerWord = MAX_INPUT_CHARS_PER_WORD,
  ) {
    let maxInitial = 0;
    let maxContinuation = 0;
    for (const [token, id] of vocab.ids) {
      this.initial.set(token, id);
      maxInitial = Math.max(maxInitial, token.length);
      if (token.startsWith(CONTINUATION_PREFIX)) {
        const rest = token.slice(CONTINUATION_PREFIX.length);
        this.continuation.set(rest, id);
        maxContinuation = Math.max(maxContinuation, rest.length);
      }
    }
    this.maxInitialLength = maxInitial;
    this.maxContinuationLength = maxContinuation;
  }

  /** Appends the WordPiece ids of one whitespace- and punctuation-free word to `out`. */
  encodeWord(word: string, out: number[]): void {
    // Code point boundaries in UTF-16 offsets; only built when the word has surrogate pairs.
    let bounds: number[] | null = null;
    let n = word.length;
    if (SURROGATE_RE.test(word)) {
      bounds = [];
      for (let i = 0; i < word.length; i++) {
        bounds.push(i);
        const c = word.charCodeAt(i);
        if (c >= 0xd800 && c <= 0xdbff && i + 1 < word.length) {
          const d = word.charCodeAt(i + 1);
          if (d >= 0xdc00 && d <= 0xdfff) i++;
        }
      }
      bounds.push(word.length);
      n = bounds.length - 1;
    }
    if (n > this.maxInputCharsPerWord) {
      out.push(this.unkId);
      return;
    }
    const mark = out.length;
    let start = 0;
    while (start < n) {
      const map = start === 0 ? this.initial : this.continuation;
      const limit = start === 0 ? this.maxInitialLength : this.maxContinuationLength;
      let end = Math.min(n, start + limit);
      let id: number | undefined;
      while (end > start) {
        id = bounds === null ? map.get(word.slice(start, end)) : map.get(word.slice(bounds[start], bounds[end]));
        if (id !== undefined) break;
        end--;
      }
      if (id === undefined) {
        out.length = mark;
        out.push(this.unkId);
        return;
      }
      out.push(id);
      start = end;
    }
  }

  /** The WordPiece tokens of one word (strings; for inspection and tests). */
  tokenizeWord(word: string): string[] {
    const ids: number[] = [];
    this.encodeWord(word, ids);
    return ids.map((id) => this.vocab.tokens[id]);
  }
}
