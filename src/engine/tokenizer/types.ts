/** One encoded sequence or pair, as BERT takes it. Arrays have the padded length. */
export interface Encoding {
  tokens: string[]; // real tokens only: [CLS] a… [SEP] (b… [SEP])
  inputIds: number[];
  tokenTypeIds: number[];
  attentionMask: number[];
  /** Number of real (unpadded) tokens. */
  length: number;
}

export interface EncodeOptions {
  /** Truncate to this many tokens including specials (longest-first for pairs). */
  maxLength: number;
  /**
   * 'max_length' pads to maxLength; 'longest' (batch only) pads to the longest; 'none' leaves unpadded.
   * Defaults: 'max_length' for a single encode (as Google's run_classifier), 'longest' for a batch.
   */
  padding?: 'max_length' | 'longest' | 'none';
}

/** A sentence or a sentence pair to encode; a missing, null or empty second text encodes a single sequence. */
export type TextPair = readonly [textA: string, textB?: string | null];
