import { mkdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
export const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
export const fmt = (x: number, digits = 0) => x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

/** Writes `bench/results/<name>.json` and `.md` and prints the markdown. */
export function writeBenchReport(name: string, result: unknown, markdown: string): void {
  const dir = resolve(import.meta.dirname, 'results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(resolve(dir, `${name}.json`), JSON.stringify(result, null, 2));
  writeFileSync(resolve(dir, `${name}.md`), markdown);
  process.stderr.write(markdown);
}

/** How a browser bench repeats its measurements. */
export interface RoundOptions {
  quick: boolean;
  rounds: number;
  reps: number;
  warmup: number;
}

/** `--quick`, `--rounds`, `--reps`, `--warmup` of the browser benches; a count must be a positive integer. */
export function parseRoundArgs(argv: string[], defaults: { reps: number }): RoundOptions {
  const { values } = parseArgs({
    args: argv,
    options: { quick: { type: 'boolean' }, rounds: { type: 'string' }, reps: { type: 'string' }, warmup: { type: 'string' } },
  });
  const int = (name: string, v: string | undefined, d: number) => {
    if (v === undefined) return d;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer, got ${v}`);
    return n;
  };
  const quick = Boolean(values.quick);
  return {
    quick,
    rounds: int('rounds', values.rounds, quick ? 1 : 3),
    reps: int('reps', values.reps, quick ? 1 : defaults.reps),
    warmup: int('warmup', values.warmup, 1),
  };
}
