import type { SplitName, TaskDef } from '../../../datasets/types.ts';
import { DataError, IssueCollector, MAX_ISSUES_KEPT, type DataIssue } from './dataError.ts';
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
  /** The first `maxIssues` malformed rows or file problems. */
  issues: DataIssue[];
  /** All of them, kept or not. */
  issueCount: number;
}

/** Reads every split of a task the source has, collecting malformed rows instead of stopping at the first. */
export async function checkTask(
  source: DataSource,
  task: TaskDef,
  splits: readonly SplitName[] = task.splits.map((s) => s.name),
  maxIssues = MAX_ISSUES_KEPT,
): Promise<SplitCheck[]> {
  const out: SplitCheck[] = [];
  for (const split of splits) {
    const def = task.splits.find((s) => s.name === split)!;
    const issues = new IssueCollector(maxIssues);
    const result: SplitCheck = { split, file: null, rows: 0, skipped: 0, officialRows: def.rows, issues: issues.kept, issueCount: 0 };
    out.push(result);
    try {
      result.file = await source.locate(task, split);
    } catch (e) {
      // A listing that is not a GLUE layout (wrong zip) is reported like a malformed file.
      if (!(e instanceof DataError)) throw e;
      issues.push(e.issue);
      result.issueCount = issues.total;
      continue;
    }
    if (!result.file) continue;
    const skipped = { rows: 0 };
    const counts = task.labels && def.labelled ? new Array<number>(task.labels.length).fill(0) : undefined;
    try {
      for await (const ex of source.open(task, split, { onMalformed: 'collect', issues, skipped })) {
        result.rows++;
        if (counts && ex.label !== undefined) counts[ex.label]++;
      }
    } catch (e) {
      // A file that cannot be opened at all (a directory, an entry past the archive limits) is one issue.
      if (!(e instanceof DataError)) throw e;
      issues.push(e.issue);
    }
    result.issueCount = issues.total;
    result.skipped = skipped.rows;
    if (counts && result.rows > 0) result.labelCounts = counts;
  }
  return out;
}
