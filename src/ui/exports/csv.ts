/** CSV (RFC 4180 quoting) of the numbers behind the charts. */

const cell = (v: unknown): string => {
  const s = v === null || v === undefined ? '' : typeof v === 'number' ? (Number.isFinite(v) ? String(v) : '') : String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};

export function toCsv(header: readonly string[], rows: readonly (readonly unknown[])[]): string {
  return [header, ...rows].map((r) => r.map(cell).join(',')).join('\n') + '\n';
}

/** A labelled matrix: first column the row label, then one column per column label. */
export function matrixCsv(
  corner: string,
  rowLabels: readonly (string | number)[],
  colLabels: readonly (string | number)[],
  values: readonly (readonly (number | null)[])[],
): string {
  return toCsv(
    [corner, ...colLabels.map(String)],
    rowLabels.map((r, i) => [r, ...values[i]]),
  );
}
