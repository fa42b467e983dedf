// Time and peak RSS of one hostile case, for the bounds the hostile tests assert and the table they print.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';

export const MB = 1024 * 1024;
/** Peak RSS growth a hostile input may cause (the unbounded zip reader took 2.2 GB on a 200 MB bomb). */
export const MAX_RSS_GROWTH = 256 * MB;

/** Runs `f`, sampling RSS every 5 ms; returns its result, the peak growth and the time taken. */
export async function measured<T>(f: () => Promise<T>): Promise<{ value: T; rssGrowth: number; seconds: number }> {
  const base = process.memoryUsage().rss;
  let peak = base;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
  const t0 = performance.now();
  try {
    const value = await f();
    peak = Math.max(peak, process.memoryUsage().rss);
    return { value, rssGrowth: peak - base, seconds: (performance.now() - t0) / 1000 };
  } finally {
    clearInterval(timer);
  }
}

/** A row of the case → outcome table the hostile tests print after their run. */
export function tableRow(name: string, fileBytes: number, decoded: string, m: { rssGrowth: number; seconds: number }, outcome: string): string {
  return `| ${name} | ${fileBytes.toLocaleString('en')} | ${decoded} | ${(m.rssGrowth / MB).toFixed(0)} MB | ${m.seconds.toFixed(2)} s | ${outcome} |`;
}

/**
 * A scratch folder for the hostile cases of one test file (made before, removed after) and their table, printed
 * after the run under `header` (the table of the report: case → outcome with time and memory).
 */
export function hostileCases(prefix: string, header: string): { readonly dir: string; table: string[] } {
  const cases = { dir: '', table: [] as string[] };
  beforeAll(async () => {
    cases.dir = await mkdtemp(join(tmpdir(), prefix));
  });
  afterAll(async () => {
    await rm(cases.dir, { recursive: true, force: true });
    console.log([header, header.replace(/[^|]+/g, '---'), ...cases.table].join('\n'));
  });
  return cases;
}
