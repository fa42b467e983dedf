import { afterEach } from 'vitest';
import { parseExperiment, type Experiment, type ExperimentInput } from '../../src/engine/experiment/experimentSchema.ts';
import { Rng } from '../../src/engine/runtime/rng.ts';
import { memorySplit, type TokenizedRow } from '../../src/engine/train/memorySplit.ts';
import { buildEncoder, buildMultiTaskModel } from '../../src/engine/model/modelFactory.ts';
import type { MultiTaskModel } from '../../src/engine/model/multiTaskModel.ts';
import { Trainer, type TaskSplits, type TrainerOptions } from '../../src/engine/train/trainer.ts';
import type { LoadedSplit } from '../../src/engine/data/shardReader.ts';

/** Token ids of the toy inputs: 0 pad, 2 [CLS], 3 [SEP], words 5…VOCAB−1. */
export const TINY_VOCAB = 40;

/**
 * Learnable toy data in the trainer's input layout. RTE-shaped rows: a pair whose label says whether both
 * segments start with the same word. STS-B-shaped rows: a single sentence whose score is 5·(share of low words).
 */
export function toyRows(kind: 'pair' | 'score', count: number, seed: number): TokenizedRow[] {
  const rng = new Rng(`toy/${kind}/${seed}`);
  const word = () => 5 + rng.int(TINY_VOCAB - 5);
  return Array.from({ length: count }, (_, i) => {
    if (kind === 'pair') {
      const a = Array.from({ length: 2 + rng.int(4) }, word);
      const b = Array.from({ length: 2 + rng.int(4) }, word);
      const same = i % 2 === 0;
      if (same) b[0] = a[0];
      else if (b[0] === a[0]) b[0] = a[0] === 5 ? 6 : 5;
      return { ids: [2, ...a, 3, ...b, 3], segmentA: a.length + 2, label: same ? 1 : 0, uid: `p${i}` };
    }
    const a = Array.from({ length: 3 + rng.int(5) }, word);
    const low = a.filter((w) => w < 5 + (TINY_VOCAB - 5) / 2).length;
    return { ids: [2, ...a, 3], label: (5 * low) / a.length, uid: `s${i}` };
  });
}

export function toySplits(rowsPerTask: number, devRows = 32, seed = 0): Record<string, TaskSplits> {
  const split = (task: string, kind: 'pair' | 'score', split: 'train' | 'dev', n: number, s: number): LoadedSplit =>
    memorySplit(task, split, toyRows(kind, n, s), { type: kind === 'pair' ? 'classification' : 'regression' });
  return {
    RTE: { train: split('RTE', 'pair', 'train', rowsPerTask, seed), dev: split('RTE', 'pair', 'dev', devRows, seed + 1000) },
    'STS-B': { train: split('STS-B', 'score', 'train', rowsPerTask, seed + 1), dev: split('STS-B', 'score', 'dev', devRows, seed + 1001) },
  };
}

/** A tiny experiment (1 layer, H 16) over toy RTE + STS-B unless overridden. */
export function tinyExperiment(over: Partial<ExperimentInput> = {}): Experiment {
  return parseExperiment({
    name: 'tiny',
    tasks: [{ name: 'RTE' }, { name: 'STS-B' }],
    model: { kind: 'random', layers: 1, hidden: 16, heads: 2, intermediate: 32, vocab: 'synthetic' },
    data: { kind: 'synthetic' },
    optimizer: { kind: 'adamax', lr: 2e-3 },
    batchSize: 4,
    evalBatchSize: 16,
    epochs: 2,
    seed: 1,
    ...over,
  });
}

export function tinyModel(exp: Experiment): MultiTaskModel {
  return buildMultiTaskModel(exp, buildEncoder(exp, { vocabSize: TINY_VOCAB }));
}

export function tinyTrainer(exp: Experiment, data: Record<string, TaskSplits>, opts: Partial<TrainerOptions> = {}): Trainer {
  return new Trainer({ experiment: exp, model: tinyModel(exp), data, ...opts });
}

/**
 * For a test file: registers an afterEach that disposes every trainer (and its model) passed to the returned
 * `track` during the test, so a failing test cannot leak tensors into the next one's memory checks.
 */
export function disposeTrainersAfterEach(): (t: Trainer) => Trainer {
  const live: Trainer[] = [];
  afterEach(() => {
    for (const t of live.splice(0)) {
      t.dispose();
      t.model.dispose();
    }
  });
  return (t) => (live.push(t), t);
}
