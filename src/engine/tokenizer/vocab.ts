/** A WordPiece vocabulary read from the text of a BERT `vocab.txt` (one token per line, id = line index). */
export interface Vocab {
  /** Token of each id (after Google's `strip()`); `tokens.length` is the vocab size. */
  readonly tokens: readonly string[];
  /**
   * Token → id. On duplicate lines the last id wins, as in Google BERT's `tokenization.load_vocab` and
   * Hugging Face's `BertTokenizer` / `tokenizers` WordPiece (each assigns `vocab[token] = index` line by line).
   */
  readonly ids: ReadonlyMap<string, number>;
  /** Name used in error messages (usually the file name). */
  readonly source: string;
}

export const SPECIAL_TOKENS = {
  cls: '[CLS]',
  sep: '[SEP]',
  unk: '[UNK]',
  pad: '[PAD]',
  mask: '[MASK]',
} as const;

// Python's str.isspace() set: Google's load_vocab does token.strip(), and JS trim() differs from it
// (trim also removes U+FEFF but keeps U+001C–U+001F and U+0085).
const PY_STRIP =
  /^[\t\n\v\f\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+|[\t\n\v\f\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+$/g;

/**
 * Parses `vocab.txt` text. Lines end in \n, \r\n or \r (Python's universal newlines); a final newline does
 * not add an empty token. A leading BOM is dropped (TextDecoder and fetch().text() drop it too).
 */
export function parseVocabText(text: string, source = 'vocab.txt'): Vocab {
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const lines = text.split(/\r\n|\r|\n/);
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  if (lines.length === 0) throw new Error(`${source}: empty vocabulary`);
  const tokens = lines.map((line) => line.replace(PY_STRIP, ''));
  const ids = new Map<string, number>();
  for (let i = 0; i < tokens.length; i++) ids.set(tokens[i], i);
  return { tokens, ids, source };
}

/** The id of a special token, or an Error naming the token and the vocab's source. */
export function requireTokenId(vocab: Vocab, token: string): number {
  const id = vocab.ids.get(token);
  if (id === undefined) throw new Error(`${vocab.source}: missing special token ${token}`);
  return id;
}
