import * as tf from '@tensorflow/tfjs';
import type { BertEncoder } from './bertEncoder.ts';
import type { Encoding } from '../tokenizer/types.ts';

/** What a text tokenizer must offer to feed the encoder. */
export interface PairEncoder {
  encode(a: string, b: string | null | undefined, opts: { maxLength: number; padding?: 'max_length' | 'longest' | 'none' }): Encoding;
  readonly padId: number;
}

export interface TextPair {
  a: string;
  b?: string | null;
}

/** One encoded input as plain arrays (the CLI's `encode` JSON line and the worker's reply). */
export interface EncodedRow {
  tokens: string[];
  input_ids: number[]; // padded to maxLength
  token_type_ids: number[];
  attention_mask: number[];
  last_hidden_state: number[][]; // [T][H], real tokens only
  pooled: number[]; // [H]
  attentions?: number[][][][]; // [L][A][T][T], real tokens only
}

/** Encodes text pairs in batches (padded to the batch's longest row) and returns plain arrays. */
export async function encodeTexts(
  model: BertEncoder,
  tokenizer: PairEncoder,
  pairs: TextPair[],
  opts: { maxLength: number; attentions?: boolean; batchSize?: number },
): Promise<EncodedRow[]> {
  const rows: EncodedRow[] = [];
  const bs = opts.batchSize ?? 16;
  for (let start = 0; start < pairs.length; start += bs) {
    const encs = pairs.slice(start, start + bs).map((p) => tokenizer.encode(p.a, p.b ?? null, { maxLength: opts.maxLength, padding: 'max_length' }));
    const T = Math.max(...encs.map((e) => e.length));
    const cut = (k: 'inputIds' | 'tokenTypeIds' | 'attentionMask') =>
      tf.tensor2d(
        encs.map((e) => e[k].slice(0, T)),
        [encs.length, T],
        'int32',
      );
    const outs = tf.tidy(() => {
      const r = model.forward(
        { inputIds: cut('inputIds'), tokenTypeIds: cut('tokenTypeIds'), attentionMask: cut('attentionMask') },
        { outputAttentions: opts.attentions },
      );
      return r.attentions ? [r.lastHiddenState, r.pooled, tf.stack(r.attentions, 1)] : [r.lastHiddenState, r.pooled]; // attentions: [B, L, A, T, T]
    });
    const [h, p, a] = (await Promise.all(outs.map((t) => t.array()))) as [number[][][], number[][], number[][][][][] | undefined];
    tf.dispose(outs);
    encs.forEach((e, i) => {
      const n = e.length;
      const row: EncodedRow = {
        tokens: e.tokens,
        input_ids: e.inputIds,
        token_type_ids: e.tokenTypeIds,
        attention_mask: e.attentionMask,
        last_hidden_state: h[i].slice(0, n),
        pooled: p[i],
      };
      if (a) row.attentions = a[i].map((layer) => layer.map((head) => head.slice(0, n).map((r) => r.slice(0, n))));
      rows.push(row);
    });
  }
  return rows;
}
