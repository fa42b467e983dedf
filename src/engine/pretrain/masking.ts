import type { Rng } from '../runtime/rng.ts';

/**
 * BERT's masked-LM corruption (Devlin et al. 2019; Google's `create_pretraining_data.py`): per sequence,
 * max(1, round(15 % of the candidate tokens)) positions are chosen without replacement; of those 80 % become
 * [MASK], 10 % a random token and 10 % stay unchanged. Candidates are the real (unpadded) tokens that are not
 * special ([CLS], [SEP], [PAD], [UNK], [MASK]). Google takes an exact count per sequence rather than HF's
 * per-token Bernoulli draw; the exact count is what makes "at least one per sequence" natural.
 */

export interface MaskingVocab {
  maskId: number;
  /** Ids never chosen for prediction. */
  specialIds: ReadonlySet<number>;
  /** Ids a "random token" is drawn from, uniformly (the non-special vocabulary). */
  randomIds: Int32Array;
}

export interface MaskingOptions {
  /** Fraction of candidate tokens to predict (0.15). */
  maskProb?: number;
  /** Of the chosen: fraction replaced by [MASK] (0.8) and by a random token (0.1); the rest stay. */
  maskFraction?: number;
  randomFraction?: number;
}

export interface MaskedBatch {
  /** Corrupted ids [B·T] (row-major). */
  inputIds: Int32Array;
  /** Original id at chosen positions, −1 (ignored) elsewhere, [B·T]. */
  labels: Int32Array;
  /** Flat indices b·T + t of the chosen positions, ascending: the rows the MLM head scores. */
  positions: Int32Array;
  /** labels at `positions` (same order). */
  targets: Int32Array;
}

/** Matches bracketed specials such as [PAD], [CLS], [unused17]: never a sensible "random" replacement token. */
const BRACKETED = /^\[[^\]]*\]$/;

/**
 * The vocabulary split the masker needs: the special ids it must never choose, and the non-special ids it
 * draws random replacements from (every token that is not bracketed like [PAD] or [unused12]).
 */
export function maskingVocab(tokens: readonly string[], ids: { maskId: number; clsId: number; sepId: number; padId: number; unkId: number }): MaskingVocab {
  const specialIds = new Set([ids.maskId, ids.clsId, ids.sepId, ids.padId, ids.unkId]);
  const random: number[] = [];
  tokens.forEach((t, i) => {
    if (!specialIds.has(i) && !BRACKETED.test(t)) random.push(i);
  });
  if (random.length === 0) throw new Error('masking: the vocabulary has no non-special tokens to draw random replacements from');
  return { maskId: ids.maskId, specialIds, randomIds: Int32Array.from(random) };
}

/**
 * Mask a batch of B rows of length T. `attentionMask` (1 = real token) marks padding. Rows without any
 * candidate token are left alone (nothing to predict). Deterministic for a given `rng` state.
 */
export function maskBatch(
  inputIds: ArrayLike<number>,
  attentionMask: ArrayLike<number>,
  B: number,
  T: number,
  vocab: MaskingVocab,
  rng: Rng,
  opts: MaskingOptions = {},
): MaskedBatch {
  const p = opts.maskProb ?? 0.15;
  const pMask = opts.maskFraction ?? 0.8;
  const pRandom = opts.randomFraction ?? 0.1;
  if (!(p > 0 && p <= 1)) throw new Error(`masking: maskProb must be in (0, 1], got ${p}`);
  if (!(pMask >= 0 && pRandom >= 0 && pMask + pRandom <= 1)) {
    throw new Error(`masking: maskFraction ${pMask} and randomFraction ${pRandom} must be >= 0 and sum to at most 1`);
  }
  if (inputIds.length !== B * T || attentionMask.length !== B * T) {
    throw new Error(`masking: expected ${B}·${T} = ${B * T} ids and mask values, got ${inputIds.length} and ${attentionMask.length}`);
  }
  const out = Int32Array.from(inputIds);
  const labels = new Int32Array(B * T).fill(-1);
  const chosenAll: number[] = [];
  for (let b = 0; b < B; b++) {
    const candidates: number[] = [];
    for (let t = 0; t < T; t++) {
      const i = b * T + t;
      if (attentionMask[i] && !vocab.specialIds.has(inputIds[i])) candidates.push(i);
    }
    if (candidates.length === 0) continue;
    const n = Math.max(1, Math.round(candidates.length * p));
    const chosen = rng.sample(candidates, n).sort((x, y) => x - y);
    for (const i of chosen) {
      labels[i] = inputIds[i];
      const u = rng.uniform();
      if (u < pMask) out[i] = vocab.maskId;
      else if (u < pMask + pRandom) out[i] = vocab.randomIds[rng.int(vocab.randomIds.length)];
      chosenAll.push(i);
    }
  }
  const positions = Int32Array.from(chosenAll);
  const targets = positions.map((i) => labels[i]);
  return { inputIds: out, labels, positions, targets };
}
