import { kendallTauB, spearman } from '../metrics/index.ts';
import type { HeadMatrix } from './types.ts';

/**
 * Task × task similarity from head-importance matrices (GradTS §3.5): each [L, A] matrix is flattened
 * row-major to an L·A vector and compared with Kendall τ-b (GradTS) or Spearman ρ.
 */

export type CorrelationMethod = 'kendall_tau_b' | 'spearman';

const CORRELATIONS: Record<CorrelationMethod, (x: ArrayLike<number>, y: ArrayLike<number>) => number> = {
  kendall_tau_b: kendallTauB,
  spearman,
};

/** Row-major flattening [L][A] → [L·A], rejecting ragged matrices. */
export function flattenHeads(m: HeadMatrix, what = 'importance matrix'): number[] {
  if (m.length === 0) throw new Error(`${what}: empty`);
  const A = m[0].length;
  m.forEach((row, l) => {
    if (row.length !== A) throw new Error(`${what}: layer ${l} has ${row.length} heads, layer 0 has ${A}`);
  });
  return m.flat();
}

/** Correlation of two head matrices of the same shape. */
export function headCorrelation(a: HeadMatrix, b: HeadMatrix, method: CorrelationMethod = 'kendall_tau_b'): number {
  const x = flattenHeads(a, 'first matrix');
  const y = flattenHeads(b, 'second matrix');
  if (a.length !== b.length || a[0].length !== b[0].length) {
    throw new Error(`headCorrelation: matrices have shapes [${a.length}, ${a[0].length}] and [${b.length}, ${b[0].length}]`);
  }
  const f = CORRELATIONS[method];
  if (!f) throw new Error(`headCorrelation: unknown method '${method as string}' (expected kendall_tau_b or spearman)`);
  return f(x, y);
}

export interface TaskCorrelationMatrix {
  tasks: string[];
  method: CorrelationMethod;
  /** values[i][j] = corr(task i, task j); symmetric, diagonal 1 (NaN for a constant matrix). */
  values: number[][];
}

/** The symmetric task × task correlation matrix (each pair computed once and mirrored). */
export function taskCorrelationMatrix(matrices: Record<string, HeadMatrix>, method: CorrelationMethod = 'kendall_tau_b'): TaskCorrelationMatrix {
  const tasks = Object.keys(matrices);
  if (tasks.length === 0) throw new Error('taskCorrelationMatrix: no tasks');
  const values = tasks.map(() => tasks.map(() => Number.NaN));
  for (let i = 0; i < tasks.length; i++) {
    for (let j = i; j < tasks.length; j++) {
      let v: number;
      try {
        v = headCorrelation(matrices[tasks[i]], matrices[tasks[j]], method);
      } catch (e) {
        throw new Error(`taskCorrelationMatrix: ${tasks[i]} vs ${tasks[j]}: ${(e as Error).message}`);
      }
      values[i][j] = v;
      values[j][i] = v;
    }
  }
  return { tasks, method, values };
}

/** GradTS-trial's candidate order for a main task: the other tasks by correlation, highest first (§3.6).
 * Ties keep the input order (the original sorts Python dicts, which is stable). */
export function rankAuxiliaryTasks(corr: TaskCorrelationMatrix, main: string): { task: string; correlation: number }[] {
  const i = corr.tasks.indexOf(main);
  if (i < 0) throw new Error(`rankAuxiliaryTasks: main task '${main}' is not one of ${corr.tasks.join(', ')}`);
  return corr.tasks
    .map((task, j) => ({ task, correlation: corr.values[i][j] }))
    .filter((_, j) => j !== i)
    .sort((a, b) => b.correlation - a.correlation);
}
