import type { ExperimentInput } from '../engine/experiment/experimentSchema.ts';
import { SYNTHETIC_TASKS } from '../engine/synthetic/syntheticTasks.ts';

/** The experiments behind the start page's two demos. */

export const DEFAULT_MIRROR = 'https://huggingface.co';
export const DEFAULT_DEMO_MODEL = 'google/bert_uncased_L-4_H-256_A-4';
export const DEFAULT_DEMO_TASKS = ['RTE', 'MRPC', 'SST-2'] as const;

/**
 * The offline demo: a 2-layer × 4-head encoder (H=64) over the 45-token synthetic vocabulary, trained from
 * scratch on the four synthetic tasks with Adam at 2e-3 (a from-scratch model needs a larger step than a
 * pretrained one). Four epochs of 256 rows per task in batches of 16 are 256 steps; the first tasks are learnt
 * after about 100 steps (a few seconds on wasm).
 */
export function syntheticDemoExperiment(): ExperimentInput {
  return {
    name: 'synthetic demo',
    model: { kind: 'random', layers: 2, hidden: 64, heads: 4, intermediate: 128, vocab: 'synthetic' },
    data: { kind: 'synthetic' },
    tasks: SYNTHETIC_TASKS.map((name) => ({ name, maxTrainRows: 256 })),
    sampler: { kind: 'mtdnn', mixOpt: 0, ratio: 0 },
    optimizer: { kind: 'adam', lr: 2e-3, weightDecay: 0 },
    schedule: { kind: 'warmup_linear', warmup: 0.05 },
    epochs: 4,
    batchSize: 16,
    evalBatchSize: 64,
    maxLength: 32,
    encoderDropout: 0.1,
    seed: 1,
    backend: 'auto',
    evalEvery: 32,
    checkpointEvery: 16,
  };
}

/** A model field is either a Hub repo (`owner/name`) or a folder URL (absolute, or relative to the page). */
export function modelSourceOf(model: string): ExperimentInput['model'] {
  const m = model.trim();
  return /^[\w.-]+\/[\w.-]+$/.test(m) && !m.startsWith('.') ? { kind: 'hub', repo: m } : { kind: 'url', url: m };
}

/** The online demo: a small pretrained BERT and a few GLUE tasks from the Hub or a mirror, a few dozen steps. */
export function glueDemoExperiment(opts: { mirror: string; model: string; tasks: readonly string[]; rowsPerTask: number }): ExperimentInput {
  return {
    name: 'GLUE demo',
    model: modelSourceOf(opts.model),
    data: { kind: 'hub', mirror: opts.mirror },
    tasks: opts.tasks.map((name) => ({ name, maxTrainRows: opts.rowsPerTask })),
    sampler: { kind: 'mtdnn', mixOpt: 0, ratio: 0 },
    optimizer: { kind: 'adamax', lr: 1e-4 },
    schedule: { kind: 'warmup_linear', warmup: 0.1 },
    epochs: 1,
    batchSize: 16,
    evalBatchSize: 32,
    maxLength: 128,
    seed: 2018,
    backend: 'auto',
    evalEvery: 0,
    checkpointEvery: 8,
  };
}
