import type { TsvLayout } from '../types.ts';

/** Label vocabularies, Hub class labels and TSV layouts that several task families share. */

export const BINARY = ['0', '1'] as const;
export const NLI3 = ['contradiction', 'neutral', 'entailment'] as const;
export const NLI2 = ['not_entailment', 'entailment'] as const;

/** GLUE hub classLabels for the 3-way NLI sets (MNLI, AX, SNLI): the Hub orders them entailment first. */
export const HUB_NLI3 = [
  ['entailment', 'entailment'],
  ['neutral', 'neutral'],
  ['contradiction', 'contradiction'],
] as const;
export const HUB_NLI2 = [
  ['entailment', 'entailment'],
  ['not_entailment', 'not_entailment'],
] as const;

export const MNLI_COLUMNS = [
  'index',
  'promptID',
  'pairID',
  'genre',
  'sentence1_binary_parse',
  'sentence2_binary_parse',
  'sentence1_parse',
  'sentence2_parse',
  'sentence1',
  'sentence2',
];
export const SNLI_COLUMNS = [
  'index',
  'captionID',
  'pairID',
  'sentence1_binary_parse',
  'sentence2_binary_parse',
  'sentence1_parse',
  'sentence2_parse',
  'sentence1',
  'sentence2',
];
export const STSB_COLUMNS = ['index', 'genre', 'filename', 'year', 'old_index', 'source1', 'source2', 'sentence1', 'sentence2'];
export const FIVE_LABELS = ['label1', 'label2', 'label3', 'label4', 'label5'];

/** Files with `index, <textA>, <textB>[, label]` (QNLI, RTE, WNLI, AX). */
export function indexedPair(file: string, a: string, b: string, labelled: boolean): TsvLayout {
  return labelled
    ? { file, header: ['index', a, b, 'label'], columns: 4, uid: 0, textA: 1, textB: 2, label: 3 }
    : { file, header: ['index', a, b], columns: 3, uid: 0, textA: 1, textB: 2 };
}

export function withHeader(file: string, header: string[], cols: Omit<TsvLayout, 'file' | 'header' | 'columns'>): TsvLayout {
  return { file, header, columns: header.length, ...cols };
}
