import { gradtsImportance } from '../analysis/gradtsImportance.ts';
import { maskImportance } from '../analysis/headImportance.ts';
import type { HeadMatrix, LabelledBatch } from '../analysis/types.ts';
import { BatchReader } from '../data/batchReader.ts';
import type { LoadedSplit } from '../data/shardReader.ts';
import type { Experiment } from '../experiment/experimentSchema.ts';
import { batchToTensors, disposeBatch } from '../train/batchTensors.ts';
import { subsetSplit } from '../train/memorySplit.ts';
import type { TaskSpec } from '../model/taskSpec.ts';
import { nowMs, secondsSince } from './selectionResult.ts';
import { trainOnTasks, withTasks, type SelectionEnv } from './trainRunner.ts';

/**
 * GradTS's head matrices of one task (docs/methods.md §3.1–3.4): the task is fine-tuned ALONE from the shared initial
 * encoder (adamax 5e-5, 3 epochs, batch 4, evaluating nothing), then the `gradts` statistic is taken on its
 * training set, one example at a time, in file order, with dropout on.
 */

export interface InstanceMatrices {
  rows: number[];
  uids: string[];
  /** Each example's matrix, normalised on its own (§3.4), in `rows` order. */
  matrices: HeadMatrix[];
}

export interface GradtsTaskImportance {
  task: string;
  /** Mean raw matrix over the measured examples, per-layer L1, global min-max (§3.3). */
  taskMatrix: HeadMatrix;
  instances?: InstanceMatrices;
  /** Michel et al.'s mask importance of the same tuned model on the same rows (dropout off), when asked for. */
  maskMatrix?: HeadMatrix;
  tuneSeconds: number;
  measureSeconds: number;
  /** Seconds of the mask measurement (not in measureSeconds, which is GradTS's own cost). */
  maskSeconds?: number;
  /** Dev metrics of the tuned model (only measured with `mask`). */
  tunedDev?: Record<string, number>;
  /** Rows trained (× epochs) plus rows measured. */
  examplesProcessed: number;
}

export interface GradtsImportanceOptions {
  /** Keep the per-example matrices (GradTS-fg needs them for auxiliary tasks). */
  instances?: boolean;
  /** Measure only the first N training rows (GradTS uses all of them). */
  maxMeasureRows?: number;
  /** Dropout seed of the measurement (examples i use seed + 1000·i). */
  dropoutSeed?: number;
  /** Also take the mask importance on the same rows, so both measures describe one tuned model. */
  mask?: boolean;
}

/** Every row of `split` in file order, one tensor batch at a time; each batch is disposed once consumed. */
export async function* labelledBatches(split: LoadedSplit, spec: TaskSpec, batchSize: number): AsyncGenerator<LabelledBatch> {
  const reader = new BatchReader([split], { batchSize, seed: 0, shuffle: false, bucketBatches: 1 });
  for (const b of reader.restOfEpoch()) {
    const t = batchToTensors(b, spec.type, spec.numLabels);
    try {
      yield t;
    } finally {
      disposeBatch(t);
    }
  }
}

export async function gradtsTaskImportance(
  env: SelectionEnv,
  tuneExperiment: Experiment,
  task: string,
  opts: GradtsImportanceOptions = {},
): Promise<GradtsTaskImportance> {
  // GradTS's tuning evaluates nothing; with the mask measure asked for (a fidelity study), the tuned model's
  // dev metrics are kept too, so a map can be read next to how well its task was learned.
  const tuned = await trainOnTasks(env, {
    experiment: withTasks(tuneExperiment, [task]),
    target: task,
    label: `gradts tune ${task}`,
    keepModel: true,
    noDev: !opts.mask,
  });
  const model = tuned.model!;
  const measureStart = nowMs();
  try {
    const full = env.data[task].train;
    const n = Math.min(full.rows, opts.maxMeasureRows ?? full.rows);
    if (n < 1) throw new Error(`gradts: ${task} has no training rows to measure`);
    const rows = Array.from({ length: n }, (_, i) => i);
    const split = n === full.rows ? full : subsetSplit(full, rows);
    const slot = model.slot(task);
    const r = await gradtsImportance(model.encoder, slot.head, labelledBatches(split, slot.spec, tuneExperiment.evalBatchSize), {
      training: true,
      dropoutSeed: opts.dropoutSeed ?? tuneExperiment.seed,
      taskId: model.taskId(task),
    });
    const measureSeconds = secondsSince(measureStart);
    let mask: { matrix: HeadMatrix; seconds: number } | undefined;
    if (opts.mask) {
      const maskStart = nowMs();
      const m = await maskImportance(model.encoder, slot.head, labelledBatches(split, slot.spec, tuneExperiment.evalBatchSize), {
        perExample: true,
        taskId: model.taskId(task),
      });
      mask = { matrix: m.normalized, seconds: secondsSince(maskStart) };
    }
    return {
      task,
      taskMatrix: r.taskNormalized,
      ...(mask ? { maskMatrix: mask.matrix, maskSeconds: mask.seconds, tunedDev: tuned.last as Record<string, number> } : {}),
      instances: opts.instances ? { rows, uids: split.uids.slice(0, n), matrices: r.instanceNormalized } : undefined,
      tuneSeconds: tuned.wallSeconds,
      measureSeconds,
      examplesProcessed: tuned.examplesProcessed + n,
    };
  } finally {
    model.dispose();
  }
}
