import type { SplitDef, SplitName, TaskDef, TaskName } from './types.ts';
import { SINGLE_SENTENCE_TASKS } from './tasks/singleSentence.ts';
import { SIMILARITY_TASKS } from './tasks/similarity.ts';
import { INFERENCE_TASKS } from './tasks/inference.ts';
import { DOMAIN_ADAPTATION_TASKS } from './tasks/domainAdaptation.ts';

/*
 * The one table of tasks, one file per family under tasks/. Label orders are MT-DNN's (glue_task_def.yml;
 * docs/methods.md §1.1): the index is the class id everywhere in Taskscope. Row counts are the official ones (the
 * GLUE and dataset cards; tests/node/data.registry.test.ts checks the files).
 */

export const GLUE_TASKS: readonly TaskDef[] = [...SINGLE_SENTENCE_TASKS, ...SIMILARITY_TASKS, ...INFERENCE_TASKS, ...DOMAIN_ADAPTATION_TASKS];

const byName = new Map<string, TaskDef>();
for (const t of GLUE_TASKS) {
  byName.set(t.name.toLowerCase(), t);
  for (const a of t.aliases) byName.set(a.toLowerCase(), t);
}

export const TASK_NAMES: readonly TaskName[] = GLUE_TASKS.map((t) => t.name);

/** The task for a GLUE name or any original's alias (case-insensitive): `sst` → SST-2, `sts`/`stsb` → STS-B. */
export function findTask(name: string): TaskDef | undefined {
  return byName.get(name.trim().toLowerCase());
}

export function getTask(name: string): TaskDef {
  const t = findTask(name);
  if (!t) throw new Error(`unknown task "${name}" (known: ${TASK_NAMES.join(', ')})`);
  return t;
}

export function getSplit(task: TaskDef, split: string): SplitDef {
  const s = task.splits.find((d) => d.name === split);
  if (!s) throw new Error(`${task.name} has no split "${split}" (splits: ${task.splits.map((d) => d.name).join(', ')})`);
  return s;
}

export function splitNames(task: TaskDef): SplitName[] {
  return task.splits.map((s) => s.name);
}

/** Class id of a raw label string, or -1 when it is not in the task's label vocabulary. */
export function labelIndex(task: TaskDef, raw: string): number {
  return task.labels ? task.labels.indexOf(raw) : -1;
}

/** Number of model outputs: classes, or 1 for regression and ranking. */
export function numOutputs(task: TaskDef): number {
  return task.labels ? task.labels.length : 1;
}

/** Path of a split's Parquet file relative to a Hub mirror base (the Hub's own URL layout). */
export function hubParquetPath(task: TaskDef, split: SplitDef): string {
  if (!split.hubSplit) throw new Error(`${task.name}/${split.name} has no Hugging Face Hub split`);
  return `datasets/${task.hub.repo}/resolve/main/${task.hub.config}/${split.hubSplit}-00000-of-00001.parquet`;
}

/** Path of a split's TSV file relative to the GLUE distribution's root folder. */
export function tsvPath(task: TaskDef, split: SplitDef): string {
  if (!split.tsv) throw new Error(`${task.name}/${split.name} has no TSV layout`);
  return `${task.folder}/${split.tsv.file}`;
}
