import { TASK_NAMES } from '../../datasets/glueTasks.ts';
import { parseExperiment, type Experiment, type ExperimentInput } from '../engine/experiment/experimentSchema.ts';
import { isSyntheticTaskName, SYNTHETIC_TASK_NAMES } from '../engine/synthetic/taskNames.ts';

/**
 * `parseExperiment` for everything the app can run: the schema itself accepts the generated tasks (the
 * offline demo's SYN-* and the planted-relations PL-*) together with data.kind "synthetic".
 */

export const ALL_TASK_NAMES: readonly string[] = [...TASK_NAMES, ...SYNTHETIC_TASK_NAMES];

export const isSyntheticTask = isSyntheticTaskName;

export function parseAppExperiment(input: unknown, origin = 'experiment'): Experiment {
  return parseExperiment(input, origin);
}

/** The experiment's fields as the composer edits them (validated output is also valid input). */
export function toInput(exp: Experiment): ExperimentInput {
  return structuredClone(exp) as ExperimentInput;
}
