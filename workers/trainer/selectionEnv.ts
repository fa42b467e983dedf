import type { BertCheckpoint } from '../../src/engine/checkpoint/types.ts';
import type { Experiment } from '../../src/engine/experiment/experimentSchema.ts';
import type { SelectionEnv } from '../../src/engine/selection/trainRunner.ts';
import { buildEncoder } from '../../src/engine/model/modelFactory.ts';
import type { TaskSplits } from '../../src/engine/train/trainer.ts';
import { specsFor } from './buildModel.ts';

/**
 * The engine's SelectionEnv from what the worker trains with: the run data of the experiment (runData.ts) and
 * its model source, a loaded checkpoint or random weights of the experiment's shape. Every selection run
 * starts from the same initial encoder (a checkpoint's weights, or the stage seed's random ones), as the CLI's.
 */

export type EncoderInit = { checkpoint: BertCheckpoint } | { vocabSize: number };

export function workerSelectionEnv(exp: Experiment, data: Record<string, TaskSplits>, init: EncoderInit): SelectionEnv {
  return {
    data,
    makeEncoder: (e) => buildEncoder(e, init),
    // Synthetic tasks have their own specs; GLUE ones come from the registry (with per-task dropout).
    specs: specsFor(exp),
  };
}
