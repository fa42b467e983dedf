import type { TaskDef } from '../types.ts';
import { BINARY } from './layouts.ts';

/** Single-sentence classification: CoLA (acceptability) and SST-2 (sentiment). */
export const SINGLE_SENTENCE_TASKS: readonly TaskDef[] = [
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
];
