import { TASK_NAMES } from '../../datasets/glueTasks.ts';
import { parseExperiment, type Experiment, type ExperimentInput } from '../engine/experiment/experimentSchema.ts';
import { SYNTHETIC_TASKS } from '../engine/synthetic/syntheticTasks.ts';
import { cleanName } from './linkSafety.ts';

/**
 * `parseExperiment` for everything the app can run, including the offline synthetic demo. The one schema
 * (experimentSchema.ts) lists GLUE task names only, so an experiment over the synthetic tasks is checked
 * there with stand-in GLUE names (every other field by the schema itself) and the names are put back.
 * Once the schema accepts synthetic task names for `data.kind: 'synthetic'`, this reduces to parseExperiment.
 */

export const ALL_TASK_NAMES: readonly string[] = [...TASK_NAMES, ...SYNTHETIC_TASKS];
const SYNTHETIC = new Set<string>(SYNTHETIC_TASKS);
/** Distinct GLUE names, one per synthetic task (never shown: only parseExperiment sees them). */
const STAND_IN: Record<string, string> = { 'SYN-FIRST': 'CoLA', 'SYN-CONTAINS': 'SST-2', 'SYN-MATCH': 'MRPC', 'SYN-COUNT': 'STS-B' };

export const isSyntheticTask = (name: string) => SYNTHETIC.has(name);

type Obj = Record<string, unknown>;
const isObj = (x: unknown): x is Obj => typeof x === 'object' && x !== null && !Array.isArray(x);

/** Also makes the name safe to show (no bidi controls, no stacked combining marks): names come from links. */
export function parseAppExperiment(input: unknown, origin = 'experiment'): Experiment {
  const exp = parseAnyExperiment(input, origin);
  const name = cleanName(exp.name);
  return name === exp.name ? exp : { ...exp, name };
}

function parseAnyExperiment(input: unknown, origin: string): Experiment {
  const tasks = isObj(input) && Array.isArray(input.tasks) ? input.tasks : null;
  const names = tasks ? tasks.map((t) => (isObj(t) ? t.name : undefined)) : [];
  const synthetic = names.filter((n) => typeof n === 'string' && SYNTHETIC.has(n));
  if (synthetic.length === 0) return parseExperiment(input, origin);

  const obj = input as Obj;
  const problems: string[] = [];
  if (!isObj(obj.data) || obj.data.kind !== 'synthetic') problems.push(`data.kind: the synthetic tasks (${synthetic.join(', ')}) need data.kind "synthetic"`);
  names.forEach((n, i) => {
    if (typeof n !== 'string' || !SYNTHETIC.has(n)) problems.push(`tasks.${i}.name: ${JSON.stringify(n)} cannot be mixed with synthetic tasks (use ${SYNTHETIC_TASKS.join(', ')})`);
  });
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup !== undefined) problems.push(`tasks: ${String(dup)} is listed twice`);
  const siwlmIn = isObj(obj.siwlm) ? obj.siwlm : undefined;
  if (siwlmIn && siwlmIn.centralTask !== undefined && !(typeof siwlmIn.centralTask === 'string' && names.includes(siwlmIn.centralTask))) {
    problems.push(`siwlm.centralTask: ${JSON.stringify(siwlmIn.centralTask)} is not one of the tasks (${synthetic.join(', ')})`);
  }
  if (problems.length) throw new Error(`${origin}: invalid experiment config\n  ${problems.join('\n  ')}`);

  const back = new Map(Object.entries(STAND_IN).map(([syn, glue]) => [glue, syn]));
  const siwlm = siwlmIn;
  const central = siwlm && typeof siwlm.centralTask === 'string' ? siwlm.centralTask : undefined;
  const standIn: Obj = {
    ...obj,
    tasks: tasks!.map((t) => ({ ...(t as Obj), name: STAND_IN[(t as Obj).name as string] })),
    ...(siwlm ? { siwlm: { ...siwlm, ...(central !== undefined ? { centralTask: STAND_IN[central] ?? central } : {}) } } : {}),
  };
  const exp = parseExperiment(standIn, origin);
  return {
    ...exp,
    tasks: exp.tasks.map((t) => ({ ...t, name: back.get(t.name)! })),
    siwlm: { ...exp.siwlm, ...(exp.siwlm.centralTask ? { centralTask: back.get(exp.siwlm.centralTask)! } : {}) },
  } as Experiment;
}

/** The experiment's fields as the composer edits them (validated output is also valid input). */
export function toInput(exp: Experiment): ExperimentInput {
  return structuredClone(exp) as ExperimentInput;
}
