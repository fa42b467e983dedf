import { rocAuc, signFlipPValue } from '../../engine/analysis/plantedFidelity.ts';
import { plantedHelpers } from '../../engine/synthetic/plantedTasks.ts';
import type { Study } from './studyConfig.ts';
import { meanStd } from './studyTable.ts';
import { selectArms, selectResults } from './plantedResults.ts';
import { f3, ms, pv } from './reportNumbers.ts';

/**
 * The instance-level sections of the planted report: FastMTL (section 3) and GradTS-fg (section 6) each score
 * every candidate row; both are tested the same way, by how well the scores rank the planted helpers' rows
 * above the other candidates' rows (AUC, exact sign-flip over runs) and by the helpers' share of what was kept.
 */

/** One candidate task's rows in an instance-level selection: rows scored, rows selected, and their scores. */
interface Pool {
  candidates: number;
  chosen: number;
  /** null or NaN: a row without a score (GradTS-fg's τ of a constant instance matrix, written as null). */
  scores: readonly (number | null)[];
}

interface HelperRanking {
  auc: number;
  helperMean: number;
  otherMean: number;
  selected: { helper: number; all: number };
  candidates: { helper: number; all: number };
  /** Rows with no score, left out of the AUC and the means. */
  unscored: number;
}

/** AUC of the helpers' rows against the other candidates' rows, and the counts behind the shares; null when one side has no scored row. */
function helperRanking(target: string, tasks: readonly string[], pools: Readonly<Record<string, Pool>>): HelperRanking | null {
  const helpers = plantedHelpers(target, tasks);
  const entries = Object.entries(pools);
  const side = (helper: boolean) => entries.filter(([t]) => helpers.includes(t) === helper).map(([, p]) => p);
  const scored = (ps: Pool[]) => ps.flatMap((p) => p.scores.filter((s): s is number => typeof s === 'number' && Number.isFinite(s)));
  const pos = scored(side(true));
  const neg = scored(side(false));
  if (pos.length === 0 || neg.length === 0) return null;
  const sum = (ps: Pool[], f: (p: Pool) => number) => ps.reduce((s, p) => s + f(p), 0);
  const all = entries.map(([, p]) => p);
  return {
    auc: rocAuc(pos, neg),
    helperMean: meanStd(pos).mean,
    otherMean: meanStd(neg).mean,
    selected: { helper: sum(side(true), (p) => p.chosen), all: sum(all, (p) => p.chosen) },
    candidates: { helper: sum(side(true), (p) => p.candidates), all: sum(all, (p) => p.candidates) },
    unscored: sum(all, (p) => p.scores.length) - pos.length - neg.length,
  };
}

/** Share of the selected rows that come from helpers; "–" when nothing was selected. */
const selectedShare = (h: HelperRanking, none = '–') => (h.selected.all === 0 ? none : f3(h.selected.helper / h.selected.all));

/** The pooled test line under a section's table: mean AUC, the exact sign-flip p, the pass rule, the method's wall time. */
function aucSummary(aucs: number[], walls: number[]): string[] {
  if (aucs.length === 0) return [];
  const p = signFlipPValue(aucs, 0.5);
  return [
    `AUC over ${aucs.length} runs: ${ms(aucs)}; p(AUC > 0.5) = **${pv(p)}** (pass = p < 0.05: ${p < 0.05 ? 'passes' : 'fails'}); selection wall ${ms(walls, 1, 0)} s.`,
    '',
  ];
}

export function fastmtlSection(study: Study, tasks: string[]): string[] {
  const out = [
    "### 3. FastMTL: does the discriminator rank helpers' instances above distractors'?",
    '',
    "AUC of p(target | x) over the unused training rows of the planted helpers (positives) against those of the other candidates (negatives); helper share = share of the selected rows that come from helpers, against the helpers' share of all candidate rows. p = exact sign-flip over runs of AUC − 0.5, one-sided.",
    '',
    '| target | seed | AUC | helper share of selected | helper share of candidates | selection wall s |',
    '|---|---|---|---|---|---|',
  ];
  const aucs: number[] = [];
  const walls: number[] = [];
  for (const arm of selectArms(study, 'fastmtl')) {
    for (const { seed, r } of selectResults(study, arm)) {
      const pools = Object.fromEntries(Object.entries(r.reasons?.pools ?? {}).map(([t, p]) => [t, { ...p, scores: p.scores ?? [] }]));
      const h = helperRanking(r.target, tasks, pools);
      if (!h) continue;
      aucs.push(h.auc);
      walls.push(r.wallSeconds);
      out.push(`| ${r.target} | ${seed} | ${f3(h.auc)} | ${selectedShare(h)} | ${f3(h.candidates.helper / h.candidates.all)} | ${r.wallSeconds.toFixed(0)} |`);
    }
  }
  out.push('');
  return [...out, ...aucSummary(aucs, walls)];
}

export function gradtsFgSection(study: Study, tasks: string[]): string[] {
  const arms = selectArms(study, 'gradts-fg');
  if (arms.length === 0) return [];
  const out = [
    "### 6. GradTS-fg: does the instance filter rank helpers' rows above distractors'?",
    '',
    "Score of a candidate row = Kendall τ-b between its instance head matrix (measured on the candidate's model tuned alone) and the target's task-level matrix; GradTS-fg keeps the rows with τ ≥ θ. AUC of τ over the planted helpers' measured rows (positives) against the other candidates' (negatives); helper share of kept rows against the helpers' share of the measured rows. p = exact sign-flip over runs of AUC − 0.5, one-sided. Wall = the whole selection: tuning and measuring the target and every candidate alone, and the correlations.",
    '',
    '| target | seed | θ | kept: helper / all | measured: helper / all | helper share of kept | helper share of measured | mean τ helper / others | AUC | selection wall s |',
    '|---|---|---|---|---|---|---|---|---|---|',
  ];
  const aucs: number[] = [];
  const walls: number[] = [];
  let runs = 0;
  let noneKept = 0;
  let unscored = 0;
  for (const arm of arms) {
    for (const { seed, r } of selectResults(study, arm)) {
      runs++;
      const perTask = r.reasons?.perTask ?? {};
      const pools = Object.fromEntries(
        Object.entries(perTask).map(([t, p]) => [t, { candidates: p.correlations.length, chosen: p.uids.length, scores: p.correlations }]),
      );
      const theta = r.reasons?.threshold === undefined ? '?' : String(r.reasons.threshold);
      const h = helperRanking(r.target, tasks, pools);
      if (!h) {
        out.push(`| ${r.target} | ${seed} | ${theta} | | | | | | no scored row of a helper, or of a distractor | ${r.wallSeconds.toFixed(0)} |`);
        continue;
      }
      if (h.selected.all === 0) noneKept++;
      unscored += h.unscored;
      aucs.push(h.auc);
      walls.push(r.wallSeconds);
      out.push(
        `| ${r.target} | ${seed} | ${theta} | ${h.selected.helper} / ${h.selected.all} | ${h.candidates.helper} / ${h.candidates.all} | ${selectedShare(h, '– (none kept)')} | ${f3(h.candidates.helper / h.candidates.all)} | ${f3(h.helperMean)} / ${f3(h.otherMean)} | ${f3(h.auc)} | ${r.wallSeconds.toFixed(0)} |`,
      );
    }
  }
  out.push('');
  if (runs === 0) return [...out.slice(0, 4), 'No finished GradTS-fg run.', ''];
  if (noneKept > 0)
    out.push(
      `No measured row reached θ in ${noneKept} of ${runs} runs: GradTS-fg then keeps nothing and chooses no task; the AUC still ranks every measured row.`,
      '',
    );
  if (unscored > 0)
    out.push(`${unscored} measured rows had no τ (a constant instance matrix); GradTS-fg never keeps them, and the AUC and means leave them out.`, '');
  return [...out, ...aucSummary(aucs, walls)];
}
