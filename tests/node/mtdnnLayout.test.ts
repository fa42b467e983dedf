import { describe, expect, it } from 'vitest';
import { mtdnnLayoutFiles, mtdnnTaskName } from '../../src/engine/export/torch/mtdnnLayout.ts';
import { tinyExperiment, toyRows, toySplits } from '../helpers/tinyTraining.ts';

describe("export-torch's mtdnn/ folder: the experiment as the MT-DNN code base reads it", () => {
  it('task_def.yml per task and prepro_std-style JSON lines with Taskscope token ids', () => {
    const exp = tinyExperiment({
      tasks: [
        { name: 'RTE', head: 'san' },
        { name: 'STS-B', dropout: 0.2 },
      ],
    });
    const files = mtdnnLayoutFiles(exp, toySplits(6, 3));
    expect([...files.keys()].sort()).toEqual([
      'mtdnn/rte_dev.json',
      'mtdnn/rte_train.json',
      'mtdnn/stsb_dev.json',
      'mtdnn/stsb_train.json',
      'mtdnn/task_def.yml',
    ]);
    expect(files.get('mtdnn/task_def.yml')).toBe(
      [
        'rte:',
        '  data_format: PremiseAndOneHypothesis',
        '  dropout_p: 0.1',
        '  enable_san: true',
        '  labels:',
        '  - "not_entailment"',
        '  - "entailment"',
        '  metric_meta:',
        '  - ACC',
        '  loss: CeCriterion',
        '  n_class: 2',
        '  task_type: Classification',
        'stsb:',
        '  data_format: PremiseOnly',
        '  dropout_p: 0.2',
        '  enable_san: false',
        '  metric_meta:',
        '  - Pearson',
        '  - Spearman',
        '  loss: MseCriterion',
        '  n_class: 1',
        '  task_type: Regression',
        '',
      ].join('\n'),
    );
    const pair = toyRows('pair', 6, 0)[0];
    const line = JSON.parse(files.get('mtdnn/rte_train.json')!.split('\n')[0]);
    expect(line).toEqual({
      uid: pair.uid,
      label: pair.label,
      token_id: pair.ids,
      type_id: pair.ids.map((_, k) => (k < (pair.segmentA ?? pair.ids.length) ? 0 : 1)),
    });
    const score = toyRows('score', 6, 1)[0];
    const sts = JSON.parse(files.get('mtdnn/stsb_train.json')!.split('\n')[0]);
    expect(sts.label).toBeCloseTo(score.label!, 6);
    expect(sts.type_id).toEqual(score.ids.map(() => 0));
    expect(files.get('mtdnn/rte_train.json')!.trim().split('\n')).toHaveLength(6);
    expect(['CoLA', 'SST-2', 'STS-B', 'MNLI', 'QNLI'].map(mtdnnTaskName)).toEqual(['cola', 'sst', 'stsb', 'mnli', 'qnli']);
  });
});
