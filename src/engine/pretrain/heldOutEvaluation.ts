import type { BertCheckpoint } from '../checkpoint/types.ts';
import type { DataSource } from '../data/types.ts';
import { BertEncoder } from '../model/bertEncoder.ts';
import { MaskedLmHead } from '../model/heads/maskedLmHead.ts';
import { Rng } from '../runtime/rng.ts';
import { BertTokenizer } from '../tokenizer/bertTokenizer.ts';
import { buildMlmCorpus, type MlmCorpus, type PackedSequence } from './corpus.ts';
import { maskingVocab } from './masking.ts';
import { evaluateMlm, heldOutMaskSeed, type MlmEvalResult } from './pretrainMlm.ts';

/**
 * A pretraining run's held-out figure, recomputed away from the run: the same GLUE text packed and split with
 * the run's seed gives the same held-out sequences, and the run's mask seed masks the same tokens, so any
 * checkpoint of the run (or its F16 release) is scored exactly as the run scored itself.
 */

/** The run options that fix the held-out sequences and their masking (pretrain_state.json's info.options). */
export interface HeldOutSpec {
  seed: number;
  maxLen: number;
  heldOut: number;
  batchSize: number;
}

/** The run's packed, shuffled corpus and its held-out split: what `taskscope pretrain` trains on, rebuilt the same way. */
export async function pretrainCorpus(source: DataSource, tokenizer: BertTokenizer, spec: Omit<HeldOutSpec, 'batchSize'>): Promise<MlmCorpus> {
  return buildMlmCorpus(
    source,
    { maxLength: spec.maxLen, clsId: tokenizer.clsId, sepId: tokenizer.sepId, heldOut: spec.heldOut, tokenize: (t) => tokenizer.tokenizeToIds(t) },
    new Rng(`corpus/${spec.seed}`), // the run's shuffle and split; changing it would change every run's held-out set
  );
}

/** Masked-LM loss and accuracy of `ckpt` (encoder + its cls.predictions head) on the held-out sequences. */
export async function heldOutFigure(ckpt: BertCheckpoint, heldOut: readonly PackedSequence[], spec: HeldOutSpec): Promise<MlmEvalResult> {
  const tokenizer = BertTokenizer.fromVocabText(ckpt.vocabText, { doLowerCase: ckpt.doLowerCase });
  const encoder = BertEncoder.fromCheckpoint(ckpt);
  // A checkpoint without extra tensors must not fall through to a freshly initialised head: an empty map makes
  // MaskedLmHead name the missing cls.predictions tensor instead.
  let head: MaskedLmHead;
  try {
    head = new MaskedLmHead(ckpt.config, encoder.params.wordEmbeddings, ckpt.extraTensors ?? new Map());
  } catch (e) {
    encoder.dispose();
    throw e;
  }
  try {
    const vocab = maskingVocab(tokenizer.vocab.tokens, tokenizer);
    return await evaluateMlm(encoder, head, heldOut, vocab, tokenizer.padId, new Rng(heldOutMaskSeed(spec.seed)), spec.batchSize);
  } finally {
    head.dispose();
    encoder.dispose();
  }
}
