import type { HeadMatrix } from '../../engine/analysis/types.ts';
import type { Experiment } from '../../engine/experiment/experimentSchema.ts';
import type { LossPoint, RunSummary } from '../../../workers/trainer/types.ts';
import { fromRun, fromSnapshot, type MetricRow } from '../state/results.ts';
import type { SavedShared } from '../state/savedShared.ts';

/** A local run or saved shared results, as the Results comparison reads them. */
export interface Comparable {
  key: string;
  source: 'local' | 'shared';
  name: string;
  label: string;
  experiment: Experiment;
  step: number;
  totalSteps: number | null;
  metrics: MetricRow[];
  /** Recomputed from the metrics for shared results (never taken from the link). */
  score: number | null;
  losses: LossPoint[];
  importance: Record<string, HeadMatrix> | null;
}

export function localComparable(run: RunSummary, losses: LossPoint[]): Comparable {
  const r = fromRun(run, losses, 'stored');
  return {
    key: run.id,
    source: 'local',
    name: run.name,
    label: `${run.name} (${run.id.slice(-4)})`,
    experiment: run.experiment,
    step: run.step,
    totalSteps: run.totalSteps,
    metrics: r.metrics,
    score: r.glueScore,
    losses,
    importance: r.importance,
  };
}

export function sharedComparable(s: SavedShared): Comparable {
  const r = fromSnapshot(s.snapshot);
  return {
    key: s.id,
    source: 'shared',
    name: s.snapshot.runName,
    label: `${s.snapshot.runName} (shared)`,
    experiment: s.experiment,
    step: s.snapshot.step,
    totalSteps: null,
    metrics: r.metrics,
    score: r.glueScore,
    losses: r.losses,
    importance: r.importance,
  };
}
