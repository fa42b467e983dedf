import { rankdata } from '../../metrics/index.ts';

/**
 * FastMTL's ranking (`task_disc_to_rank_files.py`, docs/methods.md §4.3 step 2, §7 item 13): the unused examples of every
 * auxiliary task are pooled, each scored by the discriminator's probability of the TARGET task, ranked
 * globally with rankdata(−s) (average ranks for ties, 1 = most target-like), and the examples with
 * 0 < rank ≤ NUM are selected: NUM is a total across auxiliary tasks, not a per-task count.
 */

/** One auxiliary task's candidate examples: training-row indices, their uids and target scores (same order). */
export interface ScoredPool {
  task: string;
  rows: readonly number[];
  uids: readonly string[];
  /** s(x) = p(target | x) per row. */
  scores: ArrayLike<number>;
}

export interface RankedExample {
  task: string;
  row: number;
  uid: string;
  score: number;
  /** 1-based global rank, ties averaged. */
  rank: number;
}

/** Every pooled example with its global rank, in pool order. */
export function rankPooled(pools: readonly ScoredPool[]): RankedExample[] {
  const all: Omit<RankedExample, 'rank'>[] = [];
  for (const p of pools) {
    if (p.rows.length !== p.uids.length || p.rows.length !== p.scores.length) {
      throw new Error(`fastmtl ranking: ${p.task} has ${p.rows.length} rows, ${p.uids.length} uids and ${p.scores.length} scores`);
    }
    for (let i = 0; i < p.rows.length; i++) {
      const s = p.scores[i];
      if (!Number.isFinite(s)) throw new Error(`fastmtl ranking: ${p.task} row ${p.rows[i]} (uid ${p.uids[i]}) has score ${s}`);
      all.push({ task: p.task, row: p.rows[i], uid: p.uids[i], score: s });
    }
  }
  const ranks = rankdata(all.map((e) => -e.score));
  return all.map((e, i) => ({ ...e, rank: ranks[i] }));
}

/** The examples with 0 < rank ≤ num, best first (ties in pool order). */
export function selectTopRanked(ranked: readonly RankedExample[], num: number): RankedExample[] {
  if (!Number.isInteger(num) || num < 0) throw new Error(`fastmtl: NUM must be a non-negative integer, got ${num}`);
  return ranked.filter((e) => e.rank > 0 && e.rank <= num).sort((a, b) => a.rank - b.rank);
}

/** Chosen rows and uids per auxiliary task (tasks that got none are absent), each in training-file order. */
export function groupByTask(chosen: readonly { task: string; row: number; uid: string }[]): Record<string, { rows: number[]; uids: string[] }> {
  const byTask = new Map<string, { row: number; uid: string }[]>();
  for (const e of chosen) {
    const list = byTask.get(e.task) ?? [];
    list.push({ row: e.row, uid: e.uid });
    byTask.set(e.task, list);
  }
  const out: Record<string, { rows: number[]; uids: string[] }> = {};
  for (const [task, list] of byTask) {
    list.sort((a, b) => a.row - b.row);
    out[task] = { rows: list.map((e) => e.row), uids: list.map((e) => e.uid) };
  }
  return out;
}
