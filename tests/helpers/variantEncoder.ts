import { afterAll, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { fixtureModelDir, loadFixture } from './shared.ts';
import { useBackend } from './nodeBackends.ts';
import { fixtureBatch } from './fixtureBatch.ts';
import { dirSource } from '../../src/engine/platform/node/nodeSource.ts';
import { loadBertCheckpoint } from '../../src/engine/checkpoint/hfFolder.ts';
import type { BertCheckpoint, BertConfig } from '../../src/engine/checkpoint/types.ts';
import { BertEncoder, type EncoderInput } from '../../src/engine/model/bertEncoder.ts';
import { parseVariantOptions, type VariantConfig, type VariantName } from '../../src/engine/model/variants/variantConfig.ts';
import type { VariantExtension } from '../../src/engine/model/variants/variantExtension.ts';
/*
 * Model variants on the shared encoder (docs/methods.md §5.1, §5.3, §5.4), on the cpu backend with the random-tiny fixture
 * (H 32, L 2, A 4, seq 32, initializer_range 0.2, dropout 0). Small variant sizes keep it fast: T = 3 tasks,
 * hidden_size_aug 12, 6 PAL heads of 2 dims.
 */

export const fx = loadFixture('random-tiny');
export const EXTENSION_VARIANTS = ['embert', 'gated', 'pals'] as const;
export const NUM_TASKS = 3;
export const TASK = 1; // a task id ≠ 0, so slicing the right row/adapter is exercised

/** The fixture examples as a batch; `seqLen` keeps only the first tokens (shorter sequences keep the cpu tests fast). */
export const batchOf = (examples: any[], seqLen = fx.max_seq_len): EncoderInput => fixtureBatch(examples, seqLen);
export const SHORT = 12; // sequence length of the gradient and memory checks (Gated-BERT's gated_seq_len follows it)
export const disposeInput = (x: EncoderInput) => tf.dispose([x.inputIds, x.tokenTypeIds, x.attentionMask]);

/** Mulberry32: a seeded PRNG for coordinates and probe vectors. */
export function rng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Set by useVariantEncoder before the tests run. */
export let ckpt: BertCheckpoint;
export let encoder: BertEncoder;

export function variantConfig(bert: BertConfig, variant: VariantName, extra: Record<string, unknown> = {}): VariantConfig {
  const raw = { variant, num_tasks: NUM_TASKS, hidden_size_aug: 12, pal_heads: 6, gated_seq_len: fx.max_seq_len, ...extra };
  return { bert, ...parseVariantOptions(raw, bert) };
}

export function withExtension<T>(ext: VariantExtension | null, f: () => T): T {
  encoder.extension = ext;
  try {
    return f();
  } finally {
    encoder.extension = null;
  }
}

/** The cpu backend and the random-tiny encoder (`ckpt`, `encoder`) for the variant tests of one file. */
export function useVariantEncoder(): void {
  beforeAll(async () => {
    await useBackend('cpu');
    ckpt = await loadBertCheckpoint(dirSource(fixtureModelDir('random-tiny')));
    encoder = BertEncoder.fromCheckpoint(ckpt);
  });
  afterAll(() => {
    encoder.extension = null;
    encoder?.dispose();
  });
}
