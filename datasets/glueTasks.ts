import type { SplitDef, SplitName, TaskDef, TaskName, TsvLayout } from './types.ts';

/*
 * The one table of tasks. Label orders are MT-DNN's (glue_task_def.yml; docs/methods.md §1.1): the index is the class
 * id everywhere in Taskscope. Row counts are the official ones (the GLUE and dataset cards; tests/node/data.registry.test.ts checks the files).
 */

const BINARY = ['0', '1'] as const;
const NLI3 = ['contradiction', 'neutral', 'entailment'] as const;
const NLI2 = ['not_entailment', 'entailment'] as const;

/** GLUE hub classLabels for the 3-way NLI sets (MNLI, AX, SNLI): the Hub orders them entailment first. */
const HUB_NLI3 = [
  ['entailment', 'entailment'],
  ['neutral', 'neutral'],
  ['contradiction', 'contradiction'],
] as const;
const HUB_NLI2 = [
  ['entailment', 'entailment'],
  ['not_entailment', 'not_entailment'],
] as const;

const MNLI_COLUMNS = [
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
const SNLI_COLUMNS = [
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
const STSB_COLUMNS = ['index', 'genre', 'filename', 'year', 'old_index', 'source1', 'source2', 'sentence1', 'sentence2'];
const FIVE_LABELS = ['label1', 'label2', 'label3', 'label4', 'label5'];

/** Files with `index, <textA>, <textB>[, label]` (QNLI, RTE, WNLI, AX). */
function indexedPair(file: string, a: string, b: string, labelled: boolean): TsvLayout {
  return labelled
    ? { file, header: ['index', a, b, 'label'], columns: 4, uid: 0, textA: 1, textB: 2, label: 3 }
    : { file, header: ['index', a, b], columns: 3, uid: 0, textA: 1, textB: 2 };
}

function withHeader(file: string, header: string[], cols: Omit<TsvLayout, 'file' | 'header' | 'columns'>): TsvLayout {
  return { file, header, columns: header.length, ...cols };
}

export const GLUE_TASKS: readonly TaskDef[] = [
  {
    name: 'CoLA',
    aliases: ['cola'],
    folder: 'CoLA',
    type: 'classification',
    pair: false,
    labels: BINARY,
    metrics: ['ACC', 'MCC'],
    submissionFormat: 'int',
    hub: {
      repo: 'nyu-mll/glue',
      config: 'cola',
      textA: 'sentence',
      label: 'label',
      uid: 'idx',
      labelKind: 'classLabel',
      classLabels: [
        ['unacceptable', '0'],
        ['acceptable', '1'],
      ],
    },
    splits: [
      // train/dev: source code, label, original annotation mark, sentence; no header.
      { name: 'train', labelled: true, rows: 8551, hubSplit: 'train', tsv: { file: 'train.tsv', header: null, columns: 4, uid: 'row', textA: 3, label: 1 } },
      { name: 'dev', labelled: true, rows: 1043, hubSplit: 'validation', tsv: { file: 'dev.tsv', header: null, columns: 4, uid: 'row', textA: 3, label: 1 } },
      {
        name: 'test',
        labelled: false,
        rows: 1063,
        hubSplit: 'test',
        submissionFile: 'CoLA.tsv',
        tsv: { file: 'test.tsv', header: ['index', 'sentence'], columns: 2, uid: 0, textA: 1 },
      },
    ],
  },
  {
    name: 'SST-2',
    aliases: ['sst', 'sst2', 'sst-2'],
    folder: 'SST-2',
    type: 'classification',
    pair: false,
    labels: BINARY,
    metrics: ['ACC'],
    submissionFormat: 'int',
    hub: {
      repo: 'nyu-mll/glue',
      config: 'sst2',
      textA: 'sentence',
      label: 'label',
      uid: 'idx',
      labelKind: 'classLabel',
      classLabels: [
        ['negative', '0'],
        ['positive', '1'],
      ],
    },
    splits: [
      {
        name: 'train',
        labelled: true,
        rows: 67349,
        hubSplit: 'train',
        tsv: { file: 'train.tsv', header: ['sentence', 'label'], columns: 2, uid: 'row', textA: 0, label: 1 },
      },
      {
        name: 'dev',
        labelled: true,
        rows: 872,
        hubSplit: 'validation',
        tsv: { file: 'dev.tsv', header: ['sentence', 'label'], columns: 2, uid: 'row', textA: 0, label: 1 },
      },
      {
        name: 'test',
        labelled: false,
        rows: 1821,
        hubSplit: 'test',
        submissionFile: 'SST-2.tsv',
        tsv: { file: 'test.tsv', header: ['index', 'sentence'], columns: 2, uid: 0, textA: 1 },
      },
    ],
  },
  {
    name: 'MRPC',
    aliases: ['mrpc'],
    folder: 'MRPC',
    type: 'classification',
    pair: true,
    labels: BINARY,
    metrics: ['ACC', 'F1'],
    submissionFormat: 'int',
    hub: {
      repo: 'nyu-mll/glue',
      config: 'mrpc',
      textA: 'sentence1',
      textB: 'sentence2',
      label: 'label',
      uid: 'idx',
      labelKind: 'classLabel',
      classLabels: [
        ['not_equivalent', '0'],
        ['equivalent', '1'],
      ],
    },
    splits: [
      {
        name: 'train',
        labelled: true,
        rows: 3668,
        hubSplit: 'train',
        tsv: { file: 'train.tsv', header: ['Quality', '#1 ID', '#2 ID', '#1 String', '#2 String'], columns: 5, uid: 'row', textA: 3, textB: 4, label: 0 },
      },
      {
        name: 'dev',
        labelled: true,
        rows: 408,
        hubSplit: 'validation',
        tsv: { file: 'dev.tsv', header: ['Quality', '#1 ID', '#2 ID', '#1 String', '#2 String'], columns: 5, uid: 'row', textA: 3, textB: 4, label: 0 },
      },
      {
        name: 'test',
        labelled: false,
        rows: 1725,
        hubSplit: 'test',
        submissionFile: 'MRPC.tsv',
        tsv: { file: 'test.tsv', header: ['index', '#1 ID', '#2 ID', '#1 String', '#2 String'], columns: 5, uid: 0, textA: 3, textB: 4 },
      },
    ],
    note: 'The Hub numbers MRPC train/dev rows by their line in msr_paraphrase_train.txt, the TSV by row position.',
  },
  {
    name: 'STS-B',
    aliases: ['sts', 'stsb', 'sts-b'],
    folder: 'STS-B',
    type: 'regression',
    pair: true,
    labels: null,
    scoreRange: [0, 5],
    metrics: ['Pearson', 'Spearman'],
    submissionFormat: 'float3',
    hub: { repo: 'nyu-mll/glue', config: 'stsb', textA: 'sentence1', textB: 'sentence2', label: 'label', uid: 'idx', labelKind: 'float' },
    splits: [
      {
        name: 'train',
        labelled: true,
        rows: 5749,
        hubSplit: 'train',
        tsv: withHeader('train.tsv', [...STSB_COLUMNS, 'score'], { uid: 0, textA: 7, textB: 8, label: 9 }),
      },
      {
        name: 'dev',
        labelled: true,
        rows: 1500,
        hubSplit: 'validation',
        tsv: withHeader('dev.tsv', [...STSB_COLUMNS, 'score'], { uid: 0, textA: 7, textB: 8, label: 9 }),
      },
      {
        name: 'test',
        labelled: false,
        rows: 1379,
        hubSplit: 'test',
        submissionFile: 'STS-B.tsv',
        tsv: withHeader('test.tsv', STSB_COLUMNS, { uid: 0, textA: 7, textB: 8 }),
      },
    ],
  },
  {
    name: 'QQP',
    aliases: ['qqp'],
    folder: 'QQP',
    type: 'classification',
    pair: true,
    labels: BINARY,
    metrics: ['ACC', 'F1'],
    submissionFormat: 'int',
    hub: {
      repo: 'nyu-mll/glue',
      config: 'qqp',
      textA: 'question1',
      textB: 'question2',
      label: 'label',
      uid: 'idx',
      labelKind: 'classLabel',
      classLabels: [
        ['not_duplicate', '0'],
        ['duplicate', '1'],
      ],
    },
    splits: [
      {
        name: 'train',
        labelled: true,
        rows: 363846,
        hubSplit: 'train',
        tsv: withHeader('train.tsv', ['id', 'qid1', 'qid2', 'question1', 'question2', 'is_duplicate'], { uid: 0, textA: 3, textB: 4, label: 5 }),
      },
      {
        name: 'dev',
        labelled: true,
        rows: 40430,
        hubSplit: 'validation',
        tsv: withHeader('dev.tsv', ['id', 'qid1', 'qid2', 'question1', 'question2', 'is_duplicate'], { uid: 0, textA: 3, textB: 4, label: 5 }),
      },
      {
        name: 'test',
        labelled: false,
        rows: 390965,
        hubSplit: 'test',
        submissionFile: 'QQP.tsv',
        tsv: withHeader('test.tsv', ['id', 'question1', 'question2'], { uid: 0, textA: 1, textB: 2 }),
      },
    ],
  },
  {
    name: 'MNLI',
    aliases: ['mnli'],
    folder: 'MNLI',
    type: 'classification',
    pair: true,
    labels: NLI3,
    metrics: ['ACC'],
    submissionFormat: 'string',
    hub: {
      repo: 'nyu-mll/glue',
      config: 'mnli',
      textA: 'premise',
      textB: 'hypothesis',
      label: 'label',
      uid: 'idx',
      labelKind: 'classLabel',
      classLabels: HUB_NLI3,
    },
    splits: [
      {
        name: 'train',
        labelled: true,
        rows: 392702,
        hubSplit: 'train',
        tsv: withHeader('train.tsv', [...MNLI_COLUMNS, 'label1', 'gold_label'], { uid: 0, textA: 8, textB: 9, label: 11 }),
      },
      {
        name: 'dev_matched',
        labelled: true,
        rows: 9815,
        hubSplit: 'validation_matched',
        tsv: withHeader('dev_matched.tsv', [...MNLI_COLUMNS, ...FIVE_LABELS, 'gold_label'], { uid: 0, textA: 8, textB: 9, label: 15 }),
      },
      {
        name: 'dev_mismatched',
        labelled: true,
        rows: 9832,
        hubSplit: 'validation_mismatched',
        tsv: withHeader('dev_mismatched.tsv', [...MNLI_COLUMNS, ...FIVE_LABELS, 'gold_label'], { uid: 0, textA: 8, textB: 9, label: 15 }),
      },
      {
        name: 'test_matched',
        labelled: false,
        rows: 9796,
        hubSplit: 'test_matched',
        submissionFile: 'MNLI-m.tsv',
        tsv: withHeader('test_matched.tsv', MNLI_COLUMNS, { uid: 0, textA: 8, textB: 9 }),
      },
      {
        name: 'test_mismatched',
        labelled: false,
        rows: 9847,
        hubSplit: 'test_mismatched',
        submissionFile: 'MNLI-mm.tsv',
        tsv: withHeader('test_mismatched.tsv', MNLI_COLUMNS, { uid: 0, textA: 8, textB: 9 }),
      },
    ],
  },
  {
    name: 'QNLI',
    aliases: ['qnli'],
    folder: 'QNLI',
    type: 'classification',
    pair: true,
    labels: NLI2,
    metrics: ['ACC'],
    submissionFormat: 'string',
    hub: {
      repo: 'nyu-mll/glue',
      config: 'qnli',
      textA: 'question',
      textB: 'sentence',
      label: 'label',
      uid: 'idx',
      labelKind: 'classLabel',
      classLabels: HUB_NLI2,
    },
    splits: [
      { name: 'train', labelled: true, rows: 104743, hubSplit: 'train', tsv: indexedPair('train.tsv', 'question', 'sentence', true) },
      { name: 'dev', labelled: true, rows: 5463, hubSplit: 'validation', tsv: indexedPair('dev.tsv', 'question', 'sentence', true) },
      { name: 'test', labelled: false, rows: 5463, hubSplit: 'test', submissionFile: 'QNLI.tsv', tsv: indexedPair('test.tsv', 'question', 'sentence', false) },
    ],
    note: 'GLUE QNLI (v2) has no question grouping, so the pairwise-ranking variant (MT-DNN v1 qnnli, old GLUE only) does not apply.',
  },
  {
    name: 'RTE',
    aliases: ['rte'],
    folder: 'RTE',
    type: 'classification',
    pair: true,
    labels: NLI2,
    metrics: ['ACC'],
    submissionFormat: 'string',
    hub: {
      repo: 'nyu-mll/glue',
      config: 'rte',
      textA: 'sentence1',
      textB: 'sentence2',
      label: 'label',
      uid: 'idx',
      labelKind: 'classLabel',
      classLabels: HUB_NLI2,
    },
    splits: [
      { name: 'train', labelled: true, rows: 2490, hubSplit: 'train', tsv: indexedPair('train.tsv', 'sentence1', 'sentence2', true) },
      { name: 'dev', labelled: true, rows: 277, hubSplit: 'validation', tsv: indexedPair('dev.tsv', 'sentence1', 'sentence2', true) },
      { name: 'test', labelled: false, rows: 3000, hubSplit: 'test', submissionFile: 'RTE.tsv', tsv: indexedPair('test.tsv', 'sentence1', 'sentence2', false) },
    ],
  },
  {
    name: 'WNLI',
    aliases: ['wnli'],
    folder: 'WNLI',
    type: 'classification',
    pair: true,
    labels: BINARY,
    metrics: ['ACC'],
    submissionFormat: 'int',
    hub: {
      repo: 'nyu-mll/glue',
      config: 'wnli',
      textA: 'sentence1',
      textB: 'sentence2',
      label: 'label',
      uid: 'idx',
      labelKind: 'classLabel',
      classLabels: [
        ['not_entailment', '0'],
        ['entailment', '1'],
      ],
    },
    splits: [
      { name: 'train', labelled: true, rows: 635, hubSplit: 'train', tsv: indexedPair('train.tsv', 'sentence1', 'sentence2', true) },
      { name: 'dev', labelled: true, rows: 71, hubSplit: 'validation', tsv: indexedPair('dev.tsv', 'sentence1', 'sentence2', true) },
      { name: 'test', labelled: false, rows: 146, hubSplit: 'test', submissionFile: 'WNLI.tsv', tsv: indexedPair('test.tsv', 'sentence1', 'sentence2', false) },
    ],
  },
  {
    name: 'AX',
    aliases: ['ax', 'diagnostic'],
    folder: 'diagnostic',
    type: 'classification',
    pair: true,
    // AX is scored with an MNLI model, so it takes MNLI's labels.
    labels: NLI3,
    metrics: ['MCC'],
    submissionFormat: 'string',
    hub: {
      repo: 'nyu-mll/glue',
      config: 'ax',
      textA: 'premise',
      textB: 'hypothesis',
      label: 'label',
      uid: 'idx',
      labelKind: 'classLabel',
      classLabels: HUB_NLI3,
    },
    splits: [
      {
        name: 'test',
        labelled: false,
        rows: 1104,
        hubSplit: 'test',
        submissionFile: 'AX.tsv',
        tsv: indexedPair('diagnostic.tsv', 'sentence1', 'sentence2', false),
      },
    ],
    note: 'Diagnostic set: test only, predicted with an MNLI model.',
  },
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

const byName = new Map<string, TaskDef>();
for (const t of GLUE_TASKS) {
  byName.set(t.name.toLowerCase(), t);
  for (const a of t.aliases) byName.set(a.toLowerCase(), t);
}

export const TASK_NAMES: readonly TaskName[] = GLUE_TASKS.map((t) => t.name);

/** The task for a GLUE name or any original's alias (case-insensitive): `sst` → SST-2, `sts`/`stsb` → STS-B. */
export function findTask(name: string): TaskDef | undefined {
  return byName.get(name.trim().toLowerCase());
}

export function getTask(name: string): TaskDef {
  const t = findTask(name);
  if (!t) throw new Error(`unknown task "${name}" (known: ${TASK_NAMES.join(', ')})`);
  return t;
}

export function getSplit(task: TaskDef, split: string): SplitDef {
  const s = task.splits.find((d) => d.name === split);
  if (!s) throw new Error(`${task.name} has no split "${split}" (splits: ${task.splits.map((d) => d.name).join(', ')})`);
  return s;
}

export function splitNames(task: TaskDef): SplitName[] {
  return task.splits.map((s) => s.name);
}

/** Class id of a raw label string, or -1 when it is not in the task's label vocabulary. */
export function labelIndex(task: TaskDef, raw: string): number {
  return task.labels ? task.labels.indexOf(raw) : -1;
}

/** Number of model outputs: classes, or 1 for regression and ranking. */
export function numOutputs(task: TaskDef): number {
  return task.labels ? task.labels.length : 1;
}

/** Path of a split's Parquet file relative to a Hub mirror base (the Hub's own URL layout). */
export function hubParquetPath(task: TaskDef, split: SplitDef): string {
  if (!split.hubSplit) throw new Error(`${task.name}/${split.name} has no Hugging Face Hub split`);
  return `datasets/${task.hub.repo}/resolve/main/${task.hub.config}/${split.hubSplit}-00000-of-00001.parquet`;
}

/** Path of a split's TSV file relative to the GLUE distribution's root folder. */
export function tsvPath(task: TaskDef, split: SplitDef): string {
  if (!split.tsv) throw new Error(`${task.name}/${split.name} has no TSV layout`);
  return `${task.folder}/${split.tsv.file}`;
}
