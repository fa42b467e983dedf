import { headCorrelation, type CorrelationMethod } from './taskCorrelation.ts';
import type { HeadMatrix } from './types.ts';

/**
 * GradTS instance-level scores (§3.5, §7 item 10): the main task's TASK-level matrix against each
 * auxiliary example's INSTANCE matrix, Kendall τ-b on row-major flattened vectors, in input order.
 */
export function instanceToTaskCorrelation(
  mainTaskMatrix: HeadMatrix,
  auxInstanceMatrices: HeadMatrix[],
  method: CorrelationMethod = 'kendall_tau_b',
): number[] {
  return auxInstanceMatrices.map((m, i) => {
    try {
      return headCorrelation(mainTaskMatrix, m, method);
    } catch (e) {
      throw new Error(`instanceToTaskCorrelation: auxiliary instance ${i}: ${(e as Error).message}`);
    }
  });
}

/** GradTS-fg (§3.7): indices of auxiliary examples kept, those with correlation ≥ θ (0.62 in the README).
 * NaN (a constant instance matrix) is never kept. */
export function selectInstances(correlations: readonly number[], threshold = 0.62): number[] {
  const kept: number[] = [];
  correlations.forEach((c, i) => {
    if (c >= threshold) kept.push(i);
  });
  return kept;
}
