import * as tf from '@tensorflow/tfjs';
import type { EncoderInput } from '../../src/engine/model/bertEncoder.ts';

/** The token fields of a fixture example (tests/fixtures/README.md: refbert's JSON). */
export interface FixtureTokens {
  input_ids: number[];
  token_type_ids: number[];
  attention_mask: number[];
}

/** Fixture examples as an int32 encoder batch; `seqLen` keeps only the first tokens of each. */
export function fixtureBatch(examples: readonly FixtureTokens[], seqLen?: number): EncoderInput {
  const rows = (field: keyof FixtureTokens) => examples.map((e) => e[field].slice(0, seqLen));
  return {
    inputIds: tf.tensor2d(rows('input_ids'), undefined, 'int32'),
    tokenTypeIds: tf.tensor2d(rows('token_type_ids'), undefined, 'int32'),
    attentionMask: tf.tensor2d(rows('attention_mask'), undefined, 'int32'),
  };
}
