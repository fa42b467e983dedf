import type { Experiment } from '../../src/engine/experiment/experimentSchema.ts';
import type { MultiTaskModel } from '../../src/engine/model/multiTaskModel.ts';
import { BatchReader } from '../../src/engine/data/batchReader.ts';
import { batchToTensors, type BatchTensors } from '../../src/engine/train/batchTensors.ts';
import { subsetSplit } from '../../src/engine/train/memorySplit.ts';
import { Trainer, type TaskSplits } from '../../src/engine/train/trainer.ts';
import type { TrainStateStore } from '../../src/engine/train/trainState.ts';
import { parseAppExperiment } from '../../src/urlState/appExperiment.ts';
import { syntheticDemoExperiment } from '../../src/urlState/defaults.ts';
import { LiveRun } from '../../workers/trainer/liveRun.ts';
import { newRunRecord } from '../../workers/trainer/newRunRecord.ts';
import { syntheticSplits } from '../../workers/trainer/syntheticData.ts';
import type { RunOptions, RunRecord, RunUpdate } from '../../workers/trainer/types.ts';

/**
 * The trainer worker's run adapter (LiveRun) set up as the worker does it, on the offline demo's generated data,
 * for the Node tests of what a live run reports (tests/node/trainerWorkerRun.test.ts, liveRunFirstMap.test.ts).
 */

export const SYN_TASKS = ['SYN-FIRST', 'SYN-CONTAINS', 'SYN-MATCH', 'SYN-COUNT'];
/** The synthetic tokenizer's vocabulary. */
export const SYN_VOCAB = 45;
/** Dev rows per task; the probe is all of them. */
export const PROBE_ROWS = 8;

/** The demo experiment on the four tasks with 16 training rows each (one epoch = 4 steps), and its data. */
export function demoRun(checkpointEvery: number): { exp: Experiment; splits: Record<string, TaskSplits> } {
  const exp = parseAppExperiment({
    ...syntheticDemoExperiment(),
    tasks: SYN_TASKS.map((name) => ({ name, maxTrainRows: 16 })),
    epochs: 1,
    checkpointEvery,
    evalEvery: 0,
  });
  const splits = syntheticSplits(SYN_TASKS, { trainRows: 16, devRows: PROBE_ROWS, seed: exp.seed, maxLength: exp.maxLength });
  return { exp, splits };
}

/** The record the worker writes before training: a random 2 × 4-head H64 model on the cpu backend. */
function demoRecord(id: string, exp: Experiment, options: RunOptions): RunRecord {
  return newRunRecord({
    id,
    name: exp.name,
    experiment: exp,
    model: { origin: 'random', layers: 2, heads: 4, hidden: 64, vocabSize: SYN_VOCAB },
    dataKind: 'synthetic',
    backend: 'cpu',
    data: { kind: 'synthetic', trainRows: 16, devRows: PROBE_ROWS },
    options,
    configJson: '{}',
    vocabText: '',
    doLowerCase: true,
  });
}

/** A LiveRun over a Trainer of `model`, with every update it posts collected (structured-cloned, as posted). */
export function liveRun(
  id: string,
  setup: { exp: Experiment; splits: Record<string, TaskSplits>; model: MultiTaskModel; store: TrainStateStore; options: RunOptions },
): { trainer: Trainer; run: LiveRun; updates: RunUpdate[] } {
  const { exp, splits, model, store, options } = setup;
  const updates: RunUpdate[] = [];
  let run: LiveRun | null = null;
  const trainer = new Trainer({ experiment: exp, model, data: splits, store, onEvent: (e) => run?.handle(e) });
  run = new LiveRun(demoRecord(id, exp, options), trainer, model, splits, (u) => updates.push(structuredClone(u)));
  return { trainer, run, updates };
}

/** A task's probe as the live measure sees it: its dev rows in PROBE_ROWS batches of one row (the caller disposes). */
export function probeBatches(model: MultiTaskModel, splits: Record<string, TaskSplits>, task: string): BatchTensors[] {
  const probe = subsetSplit(
    splits[task].dev!,
    Array.from({ length: PROBE_ROWS }, (_, i) => i),
  );
  const spec = model.slot(task).spec;
  const reader = new BatchReader([probe], { batchSize: 1, seed: 0, shuffle: false, bucketBatches: 1 });
  return Array.from({ length: PROBE_ROWS }, () => batchToTensors(reader.next(), spec.type, spec.numLabels));
}
