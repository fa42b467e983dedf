import type { SplitName, TaskDef } from '../../../datasets/types.ts';
import { DataError, type DataIssue } from './dataError.ts';
import type { DataSource } from './types.ts';

export interface SplitCheck {
  split: SplitName;
  /** Where the split was found, or null when the source lacks it. */
  file: string | null;
  /** Well-formed rows read. */
  rows: number;
  /** Rows dropped on purpose (SNLI '-'). */
  skipped: number;
  /** The registry's official count, where published. */
  officialRows?: number;
  /** Label histogram in registry order (classification splits with labels). */
  labelCounts?: number[];
  issues: DataIssue[];
}

/** Reads every split of a task the source has, collecting malformed rows instead of stopping at the first. */
export async function checkTask(source: DataSource, task: TaskDef, splits: readonly SplitName[] = task.splits.map((s) => s.name)): Promise<SplitCheck[]> {
  const out: SplitCheck[] = [];
  for (const split of splits) {
    const def = task.splits.find((s) => s.name === split)!;
    const result: SplitCheck = { split, file: null, rows: 0, skipped: 0, officialRows: def.rows, issues: [] };
    out.push(result);
    try {
      result.file = await source.locate(task, split);
    } catch (e) {
      // A listing that is not a GLUE layout (wrong zip) is reported like a malformed file.
      if (!(e instanceof DataError)) throw e;
      result.issues.push(e.issue);
      continue;
    }
    if (!result.file) continue;
    const skipped = { rows: 0 };
    const counts = task.labels && def.labelled ? new Array<number>(task.labels.length).fill(0) : undefined;
    for await (const ex of source.open(task, split, { onMalformed: 'collect', issues: result.issues, skipped })) {
      result.rows++;
      if (counts && ex.label !== undefined) counts[ex.label]++;
    }
    result.skipped = skipped.rows;
    if (counts) result.labelCounts = counts;
  }
  return out;
}
