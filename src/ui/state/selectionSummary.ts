import type { FastmtlReasons } from '../../engine/selection/fastmtl/fastmtlSelect.ts';
import type { GradtsFgReasons } from '../../engine/selection/gradtsFineGrained.ts';
import type { GradtsTrialReasons } from '../../engine/selection/gradtsTrial.ts';
import type { RandomReasons } from '../../engine/selection/randomSelect.ts';
import type { Metrics, SelectionResult } from '../../engine/selection/selectionResult.ts';

/** Reads a selection result (plain JSON from the worker) for the Selection view and its exports. */

export type TrialReasons = GradtsTrialReasons & { importance?: { source: string; wallSeconds: number }; correlationMatrix?: unknown };

/** The GradTS-trial reasons of a gradts-trial result, or of the trials a gradts-fg result ran first. */
export function trialReasons(r: SelectionResult): TrialReasons | null {
  if (r.method === 'gradts-trial') return r.reasons as TrialReasons;
  if (r.method === 'gradts-fg') return (r.reasons as GradtsFgReasons & { trial?: TrialReasons | null }).trial ?? null;
  return null;
}

export const fgReasons = (r: SelectionResult) => (r.method === 'gradts-fg' ? (r.reasons as GradtsFgReasons) : null);
export const fastmtlReasons = (r: SelectionResult) => (r.method === 'fastmtl' ? (r.reasons as FastmtlReasons) : null);
export const randomReasons = (r: SelectionResult) => (r.method === 'random' ? (r.reasons as RandomReasons) : null);

/** Chosen auxiliary tasks with their example counts (example-level methods) or null (task-level GradTS-trial). */
export function chosenTasks(r: SelectionResult): { task: string; examples: number | null }[] {
  return r.chosen.map((task) => ({ task, examples: r.examples ? (r.examples[task]?.length ?? 0) : null }));
}

export interface TrainingSummary {
  label: string;
  tasks: string[];
  rows: Record<string, number> | null;
  wallSeconds: number;
  /** Target dev metrics: the last evaluation, or (GradTS-trial) the selected trial's best epoch. */
  metrics: Metrics;
}

/**
 * The training the selection is for. GradTS-trial trains nothing afterwards: its selected trial is that training
 * (target + chosen tasks), scored at its best epoch as GradTS's read_trial_results.py does.
 */
export function trainingSummary(r: SelectionResult): TrainingSummary | null {
  if (r.training)
    return {
      label: 'training on target + selection',
      tasks: r.training.tasks,
      rows: r.training.rows,
      wallSeconds: r.training.wallSeconds,
      metrics: r.training.last,
    };
  if (r.method === 'gradts-trial') {
    const t = trialReasons(r);
    const pick = t?.trials.find((x) => x.k === t.selectedTrial);
    if (pick)
      return {
        label: `selected trial ${pick.k} (best epoch ${pick.bestEpoch})`,
        tasks: pick.tasks,
        rows: null,
        wallSeconds: pick.wallSeconds,
        metrics: pick.best,
      };
  }
  return null;
}

/** Discriminator scores of FastMTL's chosen examples: count, min, mean, max per auxiliary task. */
export function scoreSummary(
  reasons: FastmtlReasons,
): { task: string; candidates: number; chosen: number; meanScore: number; min: number | null; max: number | null; meanChosen: number | null }[] {
  return Object.entries(reasons.pools).map(([task, p]) => {
    const s = reasons.top.filter((x) => x.task === task).map((x) => x.score);
    return {
      task,
      candidates: p.candidates,
      chosen: p.chosen,
      meanScore: p.meanScore,
      min: s.length ? Math.min(...s) : null,
      max: s.length ? Math.max(...s) : null,
      meanChosen: s.length ? s.reduce((a, b) => a + b, 0) / s.length : null,
    };
  });
}
