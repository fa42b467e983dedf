/** Where a problem is: a text line (TSV) or a row (Parquet), 1-based. Absent for file-level problems. */
export type IssueUnit = 'line' | 'row';

/** One malformed row or file, as `data check` lists it. */
export interface DataIssue {
  file: string;
  line?: number;
  unit?: IssueUnit;
  reason: string;
  /** The file cannot be read further (binary, empty, wrong header, wrong zip layout). */
  fatal?: boolean;
}

export function formatIssue(i: DataIssue): string {
  if (i.line === undefined) return `${i.file}: ${i.reason}`;
  return i.unit === 'row' ? `${i.file}: row ${i.line}: ${i.reason}` : `${i.file}:${i.line}: ${i.reason}`;
}

/** Bad input data; the message names the file, the line (or row) and the reason. */
export class DataError extends Error {
  override name = 'DataError';
  constructor(readonly issue: DataIssue) {
    super(formatIssue(issue));
  }
}

/** A cache write failed because the browser's (or disk's) storage is full. */
export class StorageFullError extends Error {
  override name = 'StorageFullError';
  constructor(message: string, cause?: unknown) {
    super(message, { cause });
  }
}

export function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Malformed rows kept per split for `data check`: the rest are only counted, so memory stays bounded. */
export const MAX_ISSUES_KEPT = 100;

/** Keeps the first `limit` issues, and any fatal one (it ends the file, so there is at most one per file); counts every one. */
export class IssueCollector {
  readonly kept: DataIssue[] = [];
  total = 0;
  constructor(readonly limit = MAX_ISSUES_KEPT) {}
  push(issue: DataIssue): void {
    this.total++;
    if (this.kept.length < this.limit || issue.fatal) this.kept.push(issue);
  }
}
