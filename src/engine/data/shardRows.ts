import type { EncodeOptions, Encoding } from '../tokenizer/types.ts';
import { sha256Hex } from './sha256.ts';
import { encodeShard } from './shardFormat.ts';
import type { RawExample } from './types.ts';

/** What the shard builder needs from a tokenizer (BertTokenizer has all of it). */
export interface ShardTokenizer {
  encode(textA: string, textB: string | null | undefined, opts: EncodeOptions): Encoding;
  readonly padId: number;
  readonly doLowerCase: boolean;
  vocabHash(): Promise<string>;
}

export interface EncodedShard {
  bytes: Uint8Array;
  tokens: number;
  /** Rows exactly maxLength long (almost always truncated ones). */
  atMaxLength: number;
}

/** Tokenizes one shard's rows (no padding: rows are padded per batch later) and packs them. */
export function encodeRows(rows: readonly RawExample[], tokenizer: ShardTokenizer, maxLength: number): EncodedShard {
  const n = rows.length;
  const labels = new Float32Array(n);
  const lengths = new Uint16Array(n);
  const segmentA = new Uint16Array(n);
  const perRow: number[][] = new Array(n);
  let tokens = 0;
  let atMaxLength = 0;
  for (let i = 0; i < n; i++) {
    const r = rows[i];
    const enc = tokenizer.encode(r.textA, r.textB ?? null, { maxLength, padding: 'none' });
    perRow[i] = enc.inputIds;
    lengths[i] = enc.length;
    let a = 0;
    while (a < enc.length && enc.tokenTypeIds[a] === 0) a++;
    segmentA[i] = a;
    labels[i] = r.label ?? NaN;
    tokens += enc.length;
    if (enc.length === maxLength) atMaxLength++;
  }
  const ids = new Int32Array(tokens);
  let off = 0;
  for (const row of perRow) {
    ids.set(row, off);
    off += row.length;
  }
  const bytes = encodeShard({ labels, ids, lengths, segmentA, uids: rows.map((r) => r.uid) });
  return { bytes, tokens, atMaxLength };
}

/** SHA-256 of a shard's source rows (uid, texts, label): equal digests mean the same input to tokenize. */
export function inputDigest(rows: readonly RawExample[]): Promise<string> {
  let text = '';
  for (const r of rows) text += `${JSON.stringify([r.uid, r.textA, r.textB ?? null, r.label ?? null])}\n`;
  return sha256Hex(text);
}

/** Cuts a row stream into consecutive groups of `size` rows (the last may be shorter). */
export async function* groupRows(rows: AsyncIterable<RawExample>, size: number): AsyncGenerator<{ index: number; firstRow: number; rows: RawExample[] }> {
  let group: RawExample[] = [];
  let index = 0;
  let firstRow = 0;
  for await (const r of rows) {
    group.push(r);
    if (group.length === size) {
      yield { index, firstRow, rows: group };
      index++;
      firstRow += size;
      group = [];
    }
  }
  if (group.length > 0) yield { index, firstRow, rows: group };
}
