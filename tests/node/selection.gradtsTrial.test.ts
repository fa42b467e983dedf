import { describe, expect, it } from 'vitest';
import {
  comparisonMetric,
  orderCandidates,
  runGradtsTrial,
  summarizeTrial,
  type EpochMetrics,
  type TrialOutcome,
} from '../../src/engine/selection/gradtsTrial.ts';
import type { Metrics } from '../../src/engine/selection/selectionResult.ts';

/** A fake trial runner: the outcome of each task list is looked up; every call is recorded. */
function fakeRunner(table: Record<string, Metrics[]>) {
  const calls: string[][] = [];
  const run = async (tasks: string[]): Promise<TrialOutcome> => {
    calls.push(tasks);
    const epochs = table[tasks.join(',')];
    if (!epochs) throw new Error(`no fake result for ${tasks.join(',')}`);
    return { epochs: epochs.map((metrics, epoch) => ({ epoch, metrics })), wallSeconds: 1.5, examplesProcessed: 100 * tasks.length };
  };
  return { run, calls };
}

// MRPC (metrics acc, f1): best epochs are picked on acc, the faithful stop rule compares F1.
const MRPC_TABLE: Record<string, Metrics[]> = {
  'MRPC,RTE': [
    { acc: 0.7, f1: 0.8 },
    { acc: 0.75, f1: 0.78 },
    { acc: 0.72, f1: 0.83 },
  ],
  'MRPC,RTE,QQP': [
    { acc: 0.76, f1: 0.8 },
    { acc: 0.74, f1: 0.85 },
  ],
  'MRPC,RTE,QQP,MNLI': [{ acc: 0.76, f1: 0.9 }],
  'MRPC,RTE,QQP,MNLI,CoLA': [{ acc: 0.7, f1: 0.7 }],
};
const MRPC_CORR = [
  { task: 'MNLI', correlation: 0.5 },
  { task: 'RTE', correlation: 0.8 },
  { task: 'CoLA', correlation: 0.1 },
  { task: 'QQP', correlation: 0.6 },
];

describe('GradTS-trial pieces', () => {
  it('orders candidates by correlation, descending, NaN last, ties in input order', () => {
    expect(orderCandidates(MRPC_CORR, 'MRPC').map((c) => c.task)).toEqual(['RTE', 'QQP', 'MNLI', 'CoLA']);
    const withTies = [
      { task: 'A', correlation: NaN },
      { task: 'B', correlation: 0.2 },
      { task: 'C', correlation: 0.2 },
      { task: 'D', correlation: -0.3 },
    ];
    expect(orderCandidates(withTies, 'T').map((c) => c.task)).toEqual(['B', 'C', 'D', 'A']);
    expect(() => orderCandidates([{ task: 'MRPC', correlation: 1 }], 'MRPC')).toThrow('gradts-trial: the target MRPC is listed among its own candidates');
    expect(() =>
      orderCandidates(
        [
          { task: 'RTE', correlation: 1 },
          { task: 'RTE', correlation: 0 },
        ],
        'MRPC',
      ),
    ).toThrow('gradts-trial: candidate RTE is listed twice');
  });

  it('compares on MCC/F1/Pearson when a task has several metrics, else on its one metric', () => {
    expect(comparisonMetric(['acc', 'f1'])).toBe('f1');
    expect(comparisonMetric(['acc', 'mcc'])).toBe('mcc');
    expect(comparisonMetric(['pearson', 'spearman'])).toBe('pearson');
    expect(comparisonMetric(['acc'])).toBe('acc');
  });

  it('takes the first epoch reaching the best first metric, and the last epoch', () => {
    const epochs: EpochMetrics[] = [
      { epoch: 0, metrics: { acc: 0.6 } },
      { epoch: 1, metrics: { acc: 0.8 } },
      { epoch: 2, metrics: { acc: 0.8 } },
      { epoch: 3, metrics: { acc: 0.7 } },
    ];
    expect(summarizeTrial(epochs, 'acc')).toEqual({ best: { acc: 0.8 }, bestEpoch: 1, last: { acc: 0.7 } });
    expect(() => summarizeTrial([], 'acc', 'trial 1 (RTE, MRPC)')).toThrow(
      'gradts-trial: trial 1 (RTE, MRPC) has no dev evaluation (does the target have a dev split?)',
    );
    expect(() => summarizeTrial([{ epoch: 0, metrics: { f1: 0.5 } }], 'acc', 'trial 2')).toThrow('gradts-trial: trial 2 epoch 0 has no acc (metrics: f1)');
  });
});

describe('GradTS-trial orchestration against hand-built trial results', () => {
  it('faithful rule: trial 2 stops (best-epoch F1 0.80 < trial 1 last-epoch F1 0.83) although its accuracy rose; the best accuracy wins', async () => {
    const { run, calls } = fakeRunner(MRPC_TABLE);
    const r = await runGradtsTrial({ target: 'MRPC', correlations: MRPC_CORR, metrics: ['acc', 'f1'], runTrial: run });
    expect(calls).toEqual([
      ['MRPC', 'RTE'],
      ['MRPC', 'RTE', 'QQP'],
    ]);
    const [t1, t2] = r.reasons.trials;
    expect(t1).toMatchObject({ k: 1, bestEpoch: 1, best: { acc: 0.75, f1: 0.78 }, last: { acc: 0.72, f1: 0.83 }, score: 0.75, continue: true });
    expect(t1.compared).toEqual({ metric: 'f1', value: 0.78, reference: -10000, referenceFrom: 'start' });
    expect(t2.compared).toEqual({ metric: 'f1', value: 0.8, reference: 0.83, referenceFrom: 'last' });
    expect(t2.continue).toBe(false);
    expect(r.reasons.stoppedBecause).toBe('rule');
    expect(r.reasons.selectedTrial).toBe(2);
    expect(r.chosen).toEqual(['RTE', 'QQP']);
    expect(r.method).toBe('gradts-trial');
    expect(r.target).toBe('MRPC');
    expect(r.reasons.selectionMetric).toBe('acc');
    expect(r.reasons.comparisonMetric).toBe('f1');
    expect(r.examplesProcessed).toBe(200 + 300);
    expect(JSON.parse(JSON.stringify(r))).toEqual(r);
  });

  it('clean rule: best vs best on accuracy continues through a tie (0.76 ≥ 0.76), stops at 0.70, and the tie goes to the later trial', async () => {
    const { run, calls } = fakeRunner(MRPC_TABLE);
    const r = await runGradtsTrial({ target: 'MRPC', correlations: MRPC_CORR, metrics: ['acc', 'f1'], runTrial: run, rule: 'clean' });
    expect(calls.map((c) => c.length - 1)).toEqual([1, 2, 3, 4]);
    expect(r.reasons.trials.map((t) => t.continue)).toEqual([true, true, true, false]);
    expect(r.reasons.trials[2].compared).toEqual({ metric: 'acc', value: 0.76, reference: 0.76, referenceFrom: 'best' });
    expect(r.reasons.trials[3].compared).toEqual({ metric: 'acc', value: 0.7, reference: 0.76, referenceFrom: 'best' });
    expect(r.reasons.selectedTrial).toBe(3);
    expect(r.chosen).toEqual(['RTE', 'QQP', 'MNLI']);
  });

  it("runs every candidate when each trial beats the last (RTE → five auxiliary tasks, as in the spec's example) and respects maxTrials", async () => {
    const aux = ['MRPC', 'MNLI', 'QQP', 'CoLA', 'WNLI'];
    const table: Record<string, Metrics[]> = {};
    aux.forEach((_, i) => {
      table[['RTE', ...aux.slice(0, i + 1)].join(',')] = [{ acc: 0.5 + 0.01 * i }, { acc: 0.55 + 0.02 * i }];
    });
    const corr = aux.map((task, i) => ({ task, correlation: 0.9 - 0.1 * i }));
    const all = await runGradtsTrial({ target: 'RTE', correlations: corr, metrics: ['acc'], runTrial: fakeRunner(table).run });
    expect(all.reasons.trials).toHaveLength(5);
    expect(all.reasons.stoppedBecause).toBe('candidates exhausted');
    expect(all.chosen).toEqual(aux);

    const { run, calls } = fakeRunner(table);
    const two = await runGradtsTrial({ target: 'RTE', correlations: corr, metrics: ['acc'], runTrial: run, maxTrials: 2 });
    expect(calls).toHaveLength(2);
    expect(two.reasons.stoppedBecause).toBe('max trials');
    expect(two.chosen).toEqual(['MRPC', 'MNLI']);
  });

  it('keeps an earlier trial when a later one is worse, even if the chain went on (mrpc → [rte] shape)', async () => {
    const table: Record<string, Metrics[]> = {
      'MRPC,RTE': [{ acc: 0.8, f1: 0.86 }],
      'MRPC,RTE,SST-2': [{ acc: 0.79, f1: 0.87 }], // F1 0.87 ≥ 0.86 continues, accuracy is lower
      'MRPC,RTE,SST-2,CoLA': [{ acc: 0.78, f1: 0.8 }],
    };
    const corr = [
      { task: 'RTE', correlation: 0.7 },
      { task: 'SST-2', correlation: 0.6 },
      { task: 'CoLA', correlation: 0.1 },
    ];
    const r = await runGradtsTrial({ target: 'MRPC', correlations: corr, metrics: ['acc', 'f1'], runTrial: fakeRunner(table).run });
    expect(r.reasons.trials.map((t) => t.continue)).toEqual([true, true, false]);
    expect(r.chosen).toEqual(['RTE']);
  });
});
