import type { TaskSpec } from '../model/taskSpec.ts';
import { PLANTED_TASKS } from './plantedTasks.ts';
import { SYNTHETIC_TASK_NAMES } from './taskNames.ts';

/** Task specs of the generated tasks (no tokenizer here, so the page's shape-only views can import it). */

const binary = (name: string, metrics: TaskSpec['metrics'] = ['acc']): TaskSpec => ({ name, type: 'classification', numLabels: 2, metrics, dropout: 0.1 });

export const SYNTHETIC_SPECS: Readonly<Record<string, TaskSpec>> = {
  'SYN-FIRST': binary('SYN-FIRST'),
  'SYN-CONTAINS': binary('SYN-CONTAINS'),
  'SYN-MATCH': binary('SYN-MATCH', ['acc', 'f1']),
  'SYN-COUNT': { name: 'SYN-COUNT', type: 'regression', numLabels: 1, metrics: ['pearson', 'spearman'], dropout: 0.1 },
  ...Object.fromEntries(PLANTED_TASKS.map((t) => [t, binary(t)])),
};

export function syntheticSpec(name: string): TaskSpec {
  const spec = SYNTHETIC_SPECS[name];
  if (!spec) throw new Error(`synthetic data: unknown task ${name} (known: ${SYNTHETIC_TASK_NAMES.join(', ')})`);
  return spec;
}
