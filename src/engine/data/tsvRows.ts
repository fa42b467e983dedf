import type { SplitDef, TaskDef } from '../../../datasets/types.ts';
import { DataError, type DataIssue } from './dataError.ts';
import type { LineBatch } from './lineReader.ts';
import type { OpenOptions, RawExample } from './types.ts';

/**
 * Turns a GLUE TSV file's lines into examples, checking each row against the registry layout: the header,
 * the column count, the label vocabulary and (STS-B) the score. Split on tabs only; no quote handling.
 */
export async function* tsvExamples(
  lines: AsyncIterable<LineBatch>,
  task: TaskDef,
  split: SplitDef,
  file: string,
  opts: OpenOptions = {},
): AsyncGenerator<RawExample> {
  const layout = split.tsv;
  if (!layout) throw new Error(`${task.name}/${split.name} has no TSV layout`);
  const collect = opts.onMalformed === 'collect';
  const labelCol = split.labelled ? layout.label : undefined;
  const firstDataLine = layout.header ? 2 : 1;
  let dataRows = 0;
  /** Returns true when the caller must stop reading the file. */
  const report = (issue: DataIssue): boolean => {
    if (!collect) throw new DataError(issue);
    opts.issues?.push(issue);
    return !!issue.fatal;
  };

  try {
    for await (const batch of lines) {
      const last = batch.lines.length - 1;
      for (let i = 0; i <= last; i++) {
        const line = batch.firstLine + i;
        const text = batch.lines[i];
        if (line === 1 && layout.header) {
          const expected = layout.header.join('\t');
          if (text !== expected) {
            const found = text.split('\t');
            report({
              file,
              line,
              fatal: true,
              reason: `unexpected header ${JSON.stringify(clip(text))} (${found.length} columns); ${task.name} ${layout.file} starts with ${JSON.stringify(expected)} (${layout.header.length} columns)`,
            });
            return;
          }
          continue;
        }
        dataRows++;
        const cols = text.split('\t');
        if (cols.length !== layout.columns) {
          const truncated = i === last && !batch.lastTerminated;
          const reason = truncated
            ? `file ends mid-row: the last line has ${cols.length} of ${layout.columns} columns and no final newline (truncated file?)`
            : `expected ${layout.columns} tab-separated columns, found ${cols.length}`;
          if (report({ file, line, reason })) return;
          continue;
        }
        let label: number | undefined;
        if (labelCol !== undefined) {
          const raw = cols[labelCol];
          if (task.skipLabels?.includes(raw)) {
            if (opts.skipped) opts.skipped.rows++;
            continue;
          }
          const parsed = parseLabel(task, raw);
          if (typeof parsed === 'string') {
            if (report({ file, line, reason: parsed })) return;
            continue;
          }
          label = parsed;
        }
        const ex: RawExample = {
          uid: layout.uid === 'row' ? String(line - firstDataLine) : cols[layout.uid],
          textA: cols[layout.textA],
          line,
          file,
        };
        if (layout.textB !== undefined) ex.textB = cols[layout.textB];
        if (label !== undefined) ex.label = label;
        yield ex;
      }
    }
  } catch (e) {
    // File-level problems from the line reader (binary, empty) are reported like rows in collect mode.
    if (collect && e instanceof DataError) {
      opts.issues?.push(e.issue);
      return;
    }
    throw e;
  }
  if (dataRows === 0 && layout.header) report({ file, fatal: true, reason: 'no rows after the header' });
}

const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** Class id or score, or the reason the raw label is bad. */
export function parseLabel(task: TaskDef, raw: string): number | string {
  if (task.labels) {
    const idx = task.labels.indexOf(raw);
    if (idx < 0) return `unknown label ${JSON.stringify(clip(raw))} (expected one of: ${task.labels.join(', ')})`;
    return idx;
  }
  // A decimal number only: Number() would also take "0x3", "0b1", "Infinity" and surrounding blanks.
  const value = DECIMAL.test(raw) ? Number(raw) : NaN;
  if (!Number.isFinite(value)) return `score ${JSON.stringify(clip(raw))} is not a number`;
  return checkScore(task, value) ?? value;
}

/** The reason a regression score is out of range, or null. */
export function checkScore(task: TaskDef, value: number): string | null {
  const range = task.scoreRange;
  if (range && (value < range[0] || value > range[1])) return `score ${value} is outside ${range[0]}–${range[1]}`;
  return null;
}

function clip(s: string, n = 80): string {
  return s.length > n ? `${s.slice(0, n)}…` : s;
}
