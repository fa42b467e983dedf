import type { SplitName, TaskDef } from '../../../datasets/types.ts';
import type { DataIssue } from './dataError.ts';

/** One example as read from a source, before tokenization. */
export interface RawExample {
  /** The file's id column, or the 0-based row number when the file has none. */
  uid: string;
  textA: string;
  textB?: string;
  /** Class id in the registry's label order, or the regression score; absent on unlabelled splits. */
  label?: number;
  /** 1-based line (TSV) or row (Parquet) in `file`. */
  line: number;
  file: string;
}

export interface ReadProgress {
  /** Source bytes consumed so far (Parquet: estimated from the rows read). */
  bytes: number;
  totalBytes?: number;
}

export interface OpenOptions {
  /**
   * 'throw' (default): the first malformed row throws a DataError. 'collect': malformed rows are pushed to
   * `issues` and skipped; a file-level problem is pushed and ends the iteration.
   */
  onMalformed?: 'throw' | 'collect';
  /** An array, or an IssueCollector that keeps the first N (bounded memory on a file of bad rows). */
  issues?: { push(issue: DataIssue): unknown };
  /** Rows dropped on purpose (SNLI's '-' labels) are counted here. */
  skipped?: { rows: number };
  onProgress?: (p: ReadProgress) => void;
  signal?: AbortSignal;
}

/** Where GLUE examples come from: a TSV folder, a zip, picked files, or the Hub's Parquet files. */
export interface DataSource {
  readonly kind: 'tsv' | 'parquet';
  /** Human-readable origin, e.g. a folder path, a zip name or a mirror URL. */
  describe(): string;
  /** Path (or URL) of the file that holds a split, or null when the source lacks it. */
  locate(task: TaskDef, split: SplitName): Promise<string | null>;
  /** Streams a split's rows; throws a DataError naming the source when the split's file is missing. */
  open(task: TaskDef, split: SplitName, opts?: OpenOptions): AsyncIterable<RawExample>;
}
