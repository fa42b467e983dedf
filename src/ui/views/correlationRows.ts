import type { CorrelationUncertainty, PairUncertainty } from '../../engine/analysis/correlationUncertainty.ts';
import type { CorrCell } from '../charts/correlationChart.ts';
import { toCsv } from '../exports/csv.ts';

/** One task pair of the upper triangle, with its uncertainty when the run measured it. */
export interface CorrRow {
  a: string;
  b: string;
  value: number | null;
  u: PairUncertainty | null;
}

export function correlationRows(
  tasks: readonly string[],
  values: readonly (readonly (number | null)[])[],
  uncertainty: CorrelationUncertainty | undefined,
): CorrRow[] {
  const rows: CorrRow[] = [];
  for (let i = 0; i < tasks.length; i++) {
    for (let j = i + 1; j < tasks.length; j++) {
      const u = uncertainty?.pairs.find((p) => (p.a === tasks[i] && p.b === tasks[j]) || (p.a === tasks[j] && p.b === tasks[i])) ?? null;
      rows.push({ a: tasks[i], b: tasks[j], value: values[i][j], u });
    }
  }
  return rows;
}

export const chartCells = (rows: readonly CorrRow[]): CorrCell[] =>
  rows.map((r) => ({ a: r.a, b: r.b, value: r.value, uncertain: r.u ? r.u.spansZero : false, p: r.u?.p ?? null }));

/** The numbers the view shows, one line per pair (the same values as the table). */
export function correlationCsv(rows: readonly CorrRow[], method: string): string {
  return toCsv(
    ['task_a', 'task_b', 'method', 'value', 'n_heads', 'p_permutation', 'p_exact', 'ci95_low', 'ci95_high', 'interval_spans_0'],
    rows.map((r) => [
      r.a,
      r.b,
      method,
      r.value,
      r.u?.n ?? '',
      r.u?.p ?? '',
      r.u ? r.u.pExact : '',
      r.u?.interval?.[0] ?? '',
      r.u?.interval?.[1] ?? '',
      r.u ? r.u.spansZero : '',
    ]),
  );
}
