import { Rng } from '../runtime/rng.ts';

/**
 * Small generated tasks for the offline demo: a tiny encoder trained from scratch learns them in a minute,
 * and because each task needs a different kind of attention, their head-importance maps and correlations
 * visibly differ:
 * - SYN-FIRST: is the first word of the sentence from the "low" half of the vocabulary? (position-local)
 * - SYN-CONTAINS: does the marker word `w0` occur anywhere? (one key token, any position)
 * - SYN-MATCH: do both segments start with the same word? (cross-segment attention)
 * - SYN-COUNT: how many words are from the "low" half, scaled to 0–5? (regression, global counting)
 * Inputs are plain text over words w0…w{N−1}; the vocabulary makes each word one WordPiece token, so the
 * demo goes through the same tokenizer, shards and trainer as GLUE.
 */

export const SYNTHETIC_WORDS = 40;
export const SYNTHETIC_TASKS = ['SYN-FIRST', 'SYN-CONTAINS', 'SYN-MATCH', 'SYN-COUNT'] as const;
export type SyntheticTaskName = (typeof SYNTHETIC_TASKS)[number];

export interface SyntheticExample {
  uid: string;
  textA: string;
  textB: string | null;
  label: number;
}

/** BERT-style vocab: specials first, then the words (ids 5…). */
export function syntheticVocabText(words = SYNTHETIC_WORDS): string {
  const specials = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'];
  return [...specials, ...Array.from({ length: words }, (_, i) => `w${i}`)].join('\n') + '\n';
}

const low = (w: number, words: number) => w < words / 2;

function sentence(rng: Rng, len: number, words: number, avoid = -1): number[] {
  const out: number[] = [];
  while (out.length < len) {
    const w = rng.int(words);
    if (w !== avoid) out.push(w);
  }
  return out;
}
const text = (ws: number[]) => ws.map((w) => `w${w}`).join(' ');

/** Generates `count` examples of one task; balanced labels for the classification tasks. */
export function generateSyntheticTask(task: SyntheticTaskName, count: number, seed: number, words = SYNTHETIC_WORDS): SyntheticExample[] {
  const rng = new Rng(`${task}/${seed}`);
  const out: SyntheticExample[] = [];
  for (let i = 0; i < count; i++) {
    const want = i % 2; // alternate labels so every split is balanced
    const len = 4 + rng.int(9);
    let a: number[];
    let b: number[] | null = null;
    let label: number;
    switch (task) {
      case 'SYN-FIRST': {
        a = sentence(rng, len, words);
        while (Number(low(a[0], words)) !== want) a[0] = rng.int(words);
        label = want;
        break;
      }
      case 'SYN-CONTAINS': {
        a = sentence(rng, len, words, 0);
        if (want) a[rng.int(len)] = 0;
        label = want;
        break;
      }
      case 'SYN-MATCH': {
        a = sentence(rng, len, words);
        b = sentence(rng, 4 + rng.int(9), words);
        if (want) b[0] = a[0];
        else while (b[0] === a[0]) b[0] = rng.int(words);
        label = want;
        break;
      }
      case 'SYN-COUNT': {
        a = sentence(rng, len, words);
        label = (5 * a.filter((w) => low(w, words)).length) / len;
        break;
      }
    }
    out.push({ uid: `${task}-${seed}-${i}`, textA: text(a), textB: b ? text(b) : null, label });
  }
  return rng.shuffle(out);
}
