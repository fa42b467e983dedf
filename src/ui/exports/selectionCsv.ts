import type { SelectionResult } from '../../engine/selection/selectionResult.ts';
import { fastmtlReasons, fgReasons, trialReasons } from '../state/selectionSummary.ts';
import { toCsv } from './csv.ts';

/**
 * A selection as CSV, one row per scored item: candidate tasks (GradTS correlation with the target), FastMTL's
 * chosen examples (discriminator score), GradTS-fg's measured examples (instance τ, chosen when ≥ θ), the
 * random baseline's chosen examples (no score). The JSON export holds everything else.
 */
export function selectionCsv(r: SelectionResult): string {
  const rows: unknown[][] = [];
  const chosen = new Set(r.chosen);
  const add = (level: 'task' | 'example', task: string, uid: string, isChosen: boolean, score: number | null, kind: string) =>
    rows.push([r.method, r.target, level, task, uid, isChosen ? 1 : 0, score, kind]);

  const trial = trialReasons(r);
  if (trial) {
    const trialChosen = new Set(r.method === 'gradts-trial' ? r.chosen : (fgReasons(r)?.trialSelection ?? []));
    for (const c of trial.correlations) add('task', c.task, '', trialChosen.has(c.task), c.correlation, trial.correlationMethod ?? 'correlation');
  }
  const fg = fgReasons(r);
  if (fg) {
    for (const [task, t] of Object.entries(fg.perTask)) {
      const kept = new Set(t.uids);
      t.measuredUids.forEach((uid, i) => add('example', task, uid, kept.has(uid), t.correlations[i], `instance ${fg.correlationMethod}`));
    }
  }
  const fm = fastmtlReasons(r);
  if (fm) for (const x of fm.top) add('example', x.task, x.uid, true, x.score, `p(${r.target} | x), ${fm.scoring}`);
  if (r.method === 'random') {
    for (const [task, uids] of Object.entries(r.examples ?? {})) for (const uid of uids) add('example', task, uid, chosen.has(task), null, 'random draw');
  }
  return toCsv(['method', 'target', 'level', 'task', 'uid', 'chosen', 'score', 'score_kind'], rows);
}
