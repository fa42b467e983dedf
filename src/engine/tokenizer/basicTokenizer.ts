/**
 * Google BERT's BasicTokenizer (tokenization.py), as ported by refbert.py, which made the golden fixtures.
 * Characters are code points (Python semantics), so astral CJK ideographs are split and astral
 * characters count once. Private-use characters are kept (only Cc/Cf are control characters here).
 *
 * The pipeline is split at the whitespace-separated "chunk": everything after cleaning, CJK splitting
 * and the whitespace split (lower-casing, accent stripping, punctuation splitting, WordPiece) works
 * inside one chunk, so a chunk's result can be cached by the caller.
 */

// Google's _is_chinese_char: the CJK Unified Ideographs blocks, including the astral extensions.
const CJK =
  '\\u4E00-\\u9FFF\\u3400-\\u4DBF\\uF900-\\uFAFF\\u{20000}-\\u{2A6DF}\\u{2A700}-\\u{2B73F}' + '\\u{2B740}-\\u{2B81F}\\u{2B820}-\\u{2CEAF}\\u{2F800}-\\u{2FA1F}';

// What Python's str.split() splits on once _clean_text has run: \t\n\r and Zs (which _clean_text maps to
// a space) plus U+2028/U+2029 (isspace but neither Zs nor control, so they survive cleaning). The other
// isspace characters (\v, \f, U+001C–U+001F, U+0085) are Cc and were removed.
const CLEANED_SPACE = '\\t\\n\\r\\p{Zs}\\u2028\\u2029';

// Every character Python's str.isspace() accepts; used for the final whitespace_tokenize.
const PY_SPACE = '\\t\\n\\v\\f\\r\\x1c-\\x20\\x85\\p{Zs}\\u2028\\u2029';

// Google's _is_punctuation: the four ASCII non-alphanumeric ranges (33–47, 58–64, 91–96, 123–126) and
// every Unicode P* category.
const PUNCT = '\\p{P}!-\\/:-@\\[-`{-~';

// _clean_text drops NUL, U+FFFD and control characters (Cc, Cf), keeping \t\n\r (whitespace).
const REMOVED_RE = /[\0\uFFFD]|[^\P{Cc}\t\n\r]|\p{Cf}/gu;
const CHUNK_RE = new RegExp(`[${CJK}]|[^${CLEANED_SPACE}${CJK}]+`, 'gu');
const PIECE_RE = new RegExp(`[${PUNCT}]|[^${PUNCT}${PY_SPACE}]+`, 'gu');
const NONSPACING_MARK_RE = /\p{Mn}/gu;
const NON_ASCII_RE = /[^\x00-\x7f]/;
const NON_PRINTABLE_ASCII_RE = /[^\x20-\x7e]/;

/** Cleans the text, isolates CJK ideographs and splits on whitespace (Google's steps before the per-token loop). */
export function splitIntoChunks(text: string): string[] {
  if (NON_PRINTABLE_ASCII_RE.test(text)) return text.replace(REMOVED_RE, '').match(CHUNK_RE) ?? [];
  // Printable ASCII (most GLUE text): nothing to clean, no CJK, and the space is the only whitespace.
  const chunks: string[] = [];
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    if (text.charCodeAt(i) === 32) {
      if (i > start) chunks.push(text.slice(start, i));
      start = i + 1;
    }
  }
  if (start < text.length) chunks.push(start === 0 ? text : text.slice(start));
  return chunks;
}

/** Lower-casing and NFD accent stripping of one chunk (uncased models only), as `_run_strip_accents`. */
export function normalizeChunk(chunk: string, doLowerCase: boolean): string {
  if (!doLowerCase) return chunk;
  const lower = chunk.toLowerCase();
  // NFD of ASCII is the identity and ASCII has no Mn marks.
  if (!NON_ASCII_RE.test(lower)) return lower;
  return lower.normalize('NFD').replace(NONSPACING_MARK_RE, '');
}

function isAsciiPunctuation(c: number): boolean {
  return (c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126);
}

/**
 * `_run_split_on_punc` followed by Google's final whitespace_tokenize: each punctuation character becomes
 * its own piece, and no piece contains whitespace or is empty.
 */
export function splitOnPunctuation(word: string): string[] {
  if (NON_ASCII_RE.test(word)) return word.match(PIECE_RE) ?? [];
  // ASCII chunk: no whitespace or control characters are left in it, so only punctuation splits.
  const pieces: string[] = [];
  let start = 0;
  for (let i = 0; i < word.length; i++) {
    if (isAsciiPunctuation(word.charCodeAt(i))) {
      if (i > start) pieces.push(word.slice(start, i));
      pieces.push(word[i]);
      start = i + 1;
    }
  }
  if (start === 0) pieces.push(word);
  else if (start < word.length) pieces.push(word.slice(start));
  return pieces;
}

/** The pre-WordPiece tokens of one chunk. */
export function basicTokenizeChunk(chunk: string, doLowerCase: boolean): string[] {
  return splitOnPunctuation(normalizeChunk(chunk, doLowerCase));
}

/** Google BERT's BasicTokenizer. */
export class BasicTokenizer {
  constructor(readonly doLowerCase: boolean) {}

  tokenize(text: string): string[] {
    const out: string[] = [];
    for (const chunk of splitIntoChunks(text)) {
      for (const piece of basicTokenizeChunk(chunk, this.doLowerCase)) out.push(piece);
    }
    return out;
  }
}
