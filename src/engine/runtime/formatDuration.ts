/**
 * Durations and ETAs as people read them, one format for the CLI and the page: "45 s", "2 min 05 s",
 * "1 h 02 min". The value is rounded to whole seconds before it is split, so a carry never shows up as
 * "60 s" ("1 min 59.6 s" reads "2 min 00 s", not "1 min 60 s").
 */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) throw new Error(`formatDuration: expected a finite duration ≥ 0, got ${seconds}`);
  const total = Math.round(seconds);
  if (total < 60) return `${total} s`;
  const pad = (n: number) => String(n).padStart(2, '0');
  if (total < 3600) return `${Math.floor(total / 60)} min ${pad(total % 60)} s`;
  // Seconds are noise beyond an hour; round to the minute (again before splitting, so no "60 min").
  const minutes = Math.round(total / 60);
  return `${Math.floor(minutes / 60)} h ${pad(minutes % 60)} min`;
}

/** What an ETA reads before any rate has been measured (step 0, 0 examples/s, nothing timed yet). */
export const ETA_ESTIMATING = 'estimating…';

/**
 * The ETA text, without the "ETA" label: {@link ETA_ESTIMATING} while `measured` is false or the estimate is not
 * a finite number ≥ 0, else the duration. `measured` says whether the estimate rests on timed work (e.g. at
 * least one step done at a rate above 0); without it a 0 at step 0 would read as "done in 0 s".
 */
export function formatEta(seconds: number | null | undefined, measured = true): string {
  if (!measured || seconds === null || seconds === undefined || !Number.isFinite(seconds) || seconds < 0) return ETA_ESTIMATING;
  return formatDuration(seconds);
}
