import type { TaskDef } from '../types.ts';
import { NLI3, HUB_NLI3, SNLI_COLUMNS, FIVE_LABELS, withHeader } from './layouts.ts';

/** The domain-adaptation sets beside GLUE: SciTail and SNLI (docs/methods.md §1.13). */
export const DOMAIN_ADAPTATION_TASKS: readonly TaskDef[] = [
  {
    name: 'SciTail',
    aliases: ['scitail'],
    folder: 'SciTailV1.1/tsv_format',
    type: 'classification',
    pair: true,
    labels: ['neutral', 'entails'],
    metrics: ['ACC'],
    hub: {
      repo: 'allenai/scitail',
      config: 'snli_format',
      textA: 'sentence1',
      textB: 'sentence2',
      label: 'gold_label',
      labelKind: 'string',
      classLabels: [
        ['neutral', 'neutral'],
        ['entailment', 'entails'],
      ],
    },
    // SciTail's tsv_format: premise, hypothesis, label; no header (MT-DNN load_scitail).
    splits: [
      {
        name: 'train',
        labelled: true,
        rows: 23596,
        hubSplit: 'train',
        tsv: { file: 'scitail_1.0_train.tsv', header: null, columns: 3, uid: 'row', textA: 0, textB: 1, label: 2 },
      },
      {
        name: 'dev',
        labelled: true,
        rows: 1304,
        hubSplit: 'validation',
        tsv: { file: 'scitail_1.0_dev.tsv', header: null, columns: 3, uid: 'row', textA: 0, textB: 1, label: 2 },
      },
      {
        name: 'test',
        labelled: true,
        rows: 2126,
        hubSplit: 'test',
        tsv: { file: 'scitail_1.0_test.tsv', header: null, columns: 3, uid: 'row', textA: 0, textB: 1, label: 2 },
      },
    ],
    note: 'Domain adaptation (docs/methods.md §1.13).',
  },
  {
    name: 'SNLI',
    aliases: ['snli'],
    folder: 'SNLI',
    type: 'classification',
    pair: true,
    labels: NLI3,
    skipLabels: ['-'],
    metrics: ['ACC'],
    hub: {
      repo: 'stanfordnlp/snli',
      config: 'plain_text',
      textA: 'premise',
      textB: 'hypothesis',
      label: 'label',
      labelKind: 'classLabel',
      classLabels: HUB_NLI3,
    },
    // GLUE-style SNLI folder (MT-DNN load_snli): text in columns 7/8, gold label last; '-' rows are dropped.
    splits: [
      {
        name: 'train',
        labelled: true,
        rows: 549367,
        hubSplit: 'train',
        tsv: withHeader('train.tsv', [...SNLI_COLUMNS, 'label1', 'gold_label'], { uid: 0, textA: 7, textB: 8, label: 10 }),
      },
      {
        name: 'dev',
        labelled: true,
        rows: 9842,
        hubSplit: 'validation',
        tsv: withHeader('dev.tsv', [...SNLI_COLUMNS, ...FIVE_LABELS, 'gold_label'], { uid: 0, textA: 7, textB: 8, label: 14 }),
      },
      {
        name: 'test',
        labelled: true,
        rows: 9824,
        hubSplit: 'test',
        tsv: withHeader('test.tsv', [...SNLI_COLUMNS, ...FIVE_LABELS, 'gold_label'], { uid: 0, textA: 7, textB: 8, label: 14 }),
      },
    ],
    note: 'Domain adaptation (docs/methods.md §1.13). Row counts exclude the pairs without a gold label.',
  },
];
