/**
 * Bounds on what one input may make a reader inflate, decode or hold: zip entries (zipProvider.ts) and the
 * Hub's Parquet files (parquetBounds.ts) share them, so a bomb of either kind stops with a message that names
 * the file, the limit and (where the platform has a way) how to raise it.
 */
export interface InputLimits {
  /** Bytes of one zip entry once inflated, of one Parquet file, and of one Parquet row group once decoded (GLUE's largest TSV, MNLI train, is about 0.3 GB). */
  maxEntryBytes: number;
  /** Inflated bytes per compressed byte, checked once `ratioAfterBytes` are inflated (text deflates ~3–10:1, Snappy cannot pass ~21:1). */
  maxRatio: number;
  ratioAfterBytes: number;
  /** Rows one Parquet file may declare (SNLI train, the largest of the registry's Hub files, has 550,152). */
  maxRows: number;
  /** Decoded bytes of one Parquet page, the most a page makes the reader allocate at once (writers use ~1 MiB pages). */
  maxPageBytes: number;
  /** How the user raises a limit, appended to its message (the CLI: an environment variable); absent, nothing is appended. */
  howToRaise?: (limit: InputLimitName) => string;
}

export type InputLimitName = 'maxEntryBytes' | 'maxRatio' | 'maxRows' | 'maxPageBytes';

export const DEFAULT_INPUT_LIMITS: InputLimits = {
  maxEntryBytes: 2 * 1024 ** 3,
  maxRatio: 100,
  ratioAfterBytes: 1024 * 1024,
  maxRows: 10_000_000,
  maxPageBytes: 64 * 1024 * 1024,
};

function raise(limits: InputLimits, name: InputLimitName): string {
  const how = limits.howToRaise?.(name);
  return how ? `; ${how}` : '';
}

/** `<what>; the limit is N <unit>s per <per>` and how to raise it. */
export function overLimit(what: string, limits: InputLimits, name: Exclude<InputLimitName, 'maxRatio'>, per: string): string {
  const unit = name === 'maxRows' ? 'rows' : 'bytes';
  return `${what}; the limit is ${limits[name]} ${unit} per ${per}${raise(limits, name)}`;
}

/** True when `inflated` bytes from `compressed` pass the ratio limit (small outputs are never judged). */
export function pastRatio(inflated: number, compressed: number, limits: InputLimits): boolean {
  return inflated > limits.ratioAfterBytes && inflated > limits.maxRatio * compressed;
}

/** The ratio limit's message; `bomb` names what it looks like (a zip bomb, a decompression bomb). */
export function ratioReason(inflated: number, compressed: string, limits: InputLimits, bomb: string): string {
  return `inflates more than ${limits.maxRatio} times its compressed size (${inflated} bytes from ${compressed}; limit ${limits.maxRatio}:1, ${bomb}?)${raise(limits, 'maxRatio')}`;
}
