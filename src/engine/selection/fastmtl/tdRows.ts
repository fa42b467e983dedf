import { Rng } from '../../runtime/rng.ts';

/**
 * FastMTL's TD-MTDNN data (`--use_data_abs 500`, docs/methods.md §4.3 step 1): a random sample of `perTask` training rows
 * per task trains the discriminator; every other row is "unused" and is what the selection (and the random
 * baseline) draws from. The sample depends only on (seed, task), so the random baseline excludes the same rows
 * as the discriminator run with that seed.
 */
export interface TdRows {
  /** Rows the discriminator trains on, in sample order. */
  used: number[];
  /** Every other row, in training-file order. */
  unused: number[];
}

export function sampleTdRows(rows: number, perTask: number, seed: number | string, task: string): TdRows {
  if (!Number.isInteger(rows) || rows < 0) throw new Error(`fastmtl: ${task} has ${rows} training rows`);
  if (!Number.isInteger(perTask) || perTask < 1) throw new Error(`fastmtl: the TD sample size must be a positive integer, got ${perTask}`);
  const all = Array.from({ length: rows }, (_, i) => i);
  const used = new Rng(`${seed}/fastmtl-td/${task}`).sample(all, Math.min(perTask, rows));
  const taken = new Uint8Array(rows);
  for (const r of used) taken[r] = 1;
  return { used, unused: all.filter((r) => !taken[r]) };
}

export function sampleTdRowsForTasks(sizes: Readonly<Record<string, number>>, perTask: number, seed: number | string): Record<string, TdRows> {
  return Object.fromEntries(Object.entries(sizes).map(([task, n]) => [task, sampleTdRows(n, perTask, seed, task)]));
}

/** The unused rows of every auxiliary task (all tasks but the target) with their uids: what selection draws from. */
export function auxiliaryPools(
  tdRows: Readonly<Record<string, TdRows>>,
  uidsOf: (task: string) => readonly string[],
  target: string,
): { task: string; rows: number[]; uids: string[] }[] {
  return Object.entries(tdRows)
    .filter(([task]) => task !== target)
    .map(([task, r]) => {
      const all = uidsOf(task);
      return { task, rows: r.unused, uids: r.unused.map((i) => all[i]) };
    });
}
