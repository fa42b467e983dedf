import { instanceToTaskCorrelation, selectInstances } from '../analysis/instanceCorrelation.ts';
import type { CorrelationMethod } from '../analysis/taskCorrelation.ts';
import type { HeadMatrix } from '../analysis/types.ts';
import type { InstanceMatrices } from './gradtsMatrices.ts';
import { SELECTION_FORMAT, nowMs, secondsSince, type ModelSize, type SelectionResult, type SelectionTraining } from './selectionResult.ts';

/**
 * GradTS-fg (docs/methods.md §3.7): for each auxiliary task GradTS-trial chose, keep training example i iff the Kendall τ
 * between the TARGET's task-level matrix and example i's instance matrix is ≥ θ (0.62, the README's); the
 * target keeps its whole training set; then one MT-DNN run on target + subsets, with no early-stop logic.
 */

export interface FineGrainedTask {
  /** Rows kept (≥ θ), file order, and their uids. */
  rows: number[];
  uids: string[];
  total: number;
  /** τ of every measured example, in measured order, with its uid. */
  correlations: number[];
  measuredUids: string[];
}

/** The pure selection: per auxiliary task, the rows whose instance correlation reaches the threshold. */
export function fineGrainedSelection(
  targetMatrix: HeadMatrix,
  aux: Readonly<Record<string, InstanceMatrices>>,
  threshold = 0.62,
  method: CorrelationMethod = 'kendall_tau_b',
): Record<string, FineGrainedTask> {
  if (!Number.isFinite(threshold)) throw new Error(`gradts-fg: threshold must be a finite number, got ${threshold}`);
  const out: Record<string, FineGrainedTask> = {};
  for (const [task, inst] of Object.entries(aux)) {
    if (inst.rows.length !== inst.matrices.length || inst.uids.length !== inst.matrices.length) {
      throw new Error(`gradts-fg: ${task} has ${inst.rows.length} rows, ${inst.uids.length} uids and ${inst.matrices.length} instance matrices`);
    }
    let corrs: number[];
    try {
      corrs = instanceToTaskCorrelation(targetMatrix, inst.matrices, method);
    } catch (e) {
      throw new Error(`gradts-fg: ${task}: ${(e as Error).message}`);
    }
    const kept = selectInstances(corrs, threshold);
    out[task] = {
      rows: kept.map((i) => inst.rows[i]),
      uids: kept.map((i) => inst.uids[i]),
      total: inst.rows.length,
      correlations: corrs,
      measuredUids: [...inst.uids],
    };
  }
  return out;
}

export interface GradtsFgReasons {
  threshold: number;
  correlationMethod: CorrelationMethod;
  /** The auxiliary set GradTS-trial chose (the input). */
  trialSelection: string[];
  perTask: Record<string, FineGrainedTask>;
  /** Why nothing was trained, when nothing was. */
  skipped?: string;
}

export interface GradtsFgOptions {
  target: string;
  /** GradTS-trial's auxiliary set; empty → the target is skipped, as in the original. */
  auxTasks: readonly string[];
  targetMatrix: HeadMatrix;
  /** Instance matrices of every auxiliary task in `auxTasks`. */
  instances: Readonly<Record<string, InstanceMatrices>>;
  threshold?: number;
  method?: CorrelationMethod;
  /** Trains on target + the kept rows (the real one goes through the trainer: `trainOnSelection`). */
  train?: (rows: Record<string, number[]>) => Promise<SelectionTraining>;
  /** Seconds and rows already spent producing the matrices (added to the selection's cost). */
  priorCost?: { wallSeconds: number; examplesProcessed: number };
  model?: ModelSize;
}

export async function runGradtsFg(o: GradtsFgOptions): Promise<SelectionResult<GradtsFgReasons>> {
  const started = nowMs();
  const threshold = o.threshold ?? 0.62;
  const method = o.method ?? 'kendall_tau_b';
  const missing = o.auxTasks.filter((t) => !o.instances[t]);
  if (missing.length) throw new Error(`gradts-fg: no instance matrices for ${missing.join(', ')}`);
  if (o.auxTasks.includes(o.target)) throw new Error(`gradts-fg: the target ${o.target} is among its auxiliary tasks`);
  const perTask = fineGrainedSelection(o.targetMatrix, Object.fromEntries(o.auxTasks.map((t) => [t, o.instances[t]])), threshold, method);
  const chosen = o.auxTasks.filter((t) => perTask[t].rows.length > 0);
  const result: SelectionResult<GradtsFgReasons> = {
    format: SELECTION_FORMAT,
    method: 'gradts-fg',
    target: o.target,
    chosen,
    examples: Object.fromEntries(o.auxTasks.map((t) => [t, perTask[t].uids])),
    reasons: { threshold, correlationMethod: method, trialSelection: [...o.auxTasks], perTask },
    wallSeconds: secondsSince(started) + (o.priorCost?.wallSeconds ?? 0),
    examplesProcessed: o.priorCost?.examplesProcessed ?? 0,
    model: o.model,
  };
  if (o.auxTasks.length === 0) result.reasons.skipped = 'GradTS-trial chose no auxiliary task';
  else if (chosen.length === 0) result.reasons.skipped = `no auxiliary example reaches τ ≥ ${threshold}`;
  else if (o.train) result.training = await o.train(Object.fromEntries(chosen.map((t) => [t, perTask[t].rows])));
  return result;
}
