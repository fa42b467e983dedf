import { PLANTED_TASKS } from './plantedTasks.ts';
import { SYNTHETIC_TASKS } from './syntheticTasks.ts';

/** Every generated task: the offline demo's SYN-* and the planted-relations PL-* (docs/planted-relations.md). */
export const SYNTHETIC_TASK_NAMES: readonly string[] = [...SYNTHETIC_TASKS, ...PLANTED_TASKS];

export const isSyntheticTaskName = (name: string) => SYNTHETIC_TASK_NAMES.includes(name);
