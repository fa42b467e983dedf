import { parseBertConfig, serializeBertConfig } from '../../src/engine/checkpoint/bertConfig.ts';
import type { BertCheckpoint } from '../../src/engine/checkpoint/types.ts';
import type { Experiment } from '../../src/engine/experiment/experimentSchema.ts';
import { BertEncoder } from '../../src/engine/model/bertEncoder.ts';
import { buildEncoder, buildMultiTaskModel, variantExtensionFor, withEncoderDropout } from '../../src/engine/model/modelFactory.ts';
import type { MultiTaskModel } from '../../src/engine/model/multiTaskModel.ts';
import { taskSpecFromRegistry, type TaskSpec } from '../../src/engine/model/taskSpec.ts';
import { isSyntheticTaskName as isSyntheticTask } from '../../src/engine/synthetic/taskNames.ts';
import { syntheticSpec } from './syntheticData.ts';

/** The task specs of an experiment: the synthetic demo's own, GLUE's from the registry. */
export function specsFor(exp: Experiment): Record<string, TaskSpec> {
  return Object.fromEntries(
    exp.tasks.map((t) => [
      t.name,
      isSyntheticTask(t.name)
        ? { ...syntheticSpec(t.name), ...(t.dropout !== undefined ? { dropout: t.dropout } : {}) }
        : taskSpecFromRegistry(t.name, t.dropout),
    ]),
  );
}

/** Encoder + variant extension + one head per task. */
export function assembleModel(exp: Experiment, encoder: BertEncoder): MultiTaskModel {
  return buildMultiTaskModel(exp, encoder, { specs: specsFor(exp), extension: variantExtensionFor(exp, encoder) });
}

/** A fresh model for a new run: pretrained weights from a checkpoint, or random weights of the experiment's shape. */
export function freshModel(exp: Experiment, from: { checkpoint: BertCheckpoint } | { vocabSize: number }): MultiTaskModel {
  return assembleModel(exp, buildEncoder(exp, from));
}

/**
 * The same architecture from a stored config.json, with random weights: a resumed or exported run assigns its
 * saved variables over them. For random-init runs the seed also reproduces the original initial weights.
 */
export function modelFromConfig(exp: Experiment, configJson: string): MultiTaskModel {
  const config = withEncoderDropout(parseBertConfig(configJson, 'run record config.json'), exp.encoderDropout);
  return assembleModel(exp, BertEncoder.random(config, exp.seed));
}

export function configJsonOf(model: MultiTaskModel): string {
  return serializeBertConfig(model.encoder.config);
}
