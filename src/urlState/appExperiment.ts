import { TASK_NAMES } from '../../datasets/glueTasks.ts';
import { parseExperiment, type Experiment, type ExperimentInput } from '../engine/experiment/experimentSchema.ts';
import { isSyntheticTaskName, SYNTHETIC_TASK_NAMES } from '../engine/synthetic/taskNames.ts';
import { cleanName } from './linkSafety.ts';

/**
 * `parseExperiment` for everything the app can run: the schema itself accepts the generated tasks (the
 * offline demo's SYN-* and the planted-relations PL-*) together with data.kind "synthetic".
 */

export const ALL_TASK_NAMES: readonly string[] = [...TASK_NAMES, ...SYNTHETIC_TASK_NAMES];

export const isSyntheticTask = isSyntheticTaskName;

/** Also makes the name safe to show (no bidi controls, no stacked combining marks): names come from links. */
export function parseAppExperiment(input: unknown, origin = 'experiment'): Experiment {
  const exp = parseExperiment(input, origin);
  const name = cleanName(exp.name);
  return name === exp.name ? exp : { ...exp, name };
}

/** The experiment's fields as the composer edits them (validated output is also valid input). */
export function toInput(exp: Experiment): ExperimentInput {
  return structuredClone(exp) as ExperimentInput;
}
