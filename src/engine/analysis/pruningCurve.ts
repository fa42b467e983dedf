import { Rng } from '../runtime/rng.ts';
import { flattenHeads } from './taskCorrelation.ts';
import type { HeadMatrix } from './types.ts';

/**
 * Head-pruning curves (Michel et al. 2019, "Are Sixteen Heads Really Better than One?", their Fig. 3/4): heads
 * are masked in ascending order of importance (least important first) and a dev metric is taken at each
 * fraction pruned; the same with K random orders is the baseline. Masking = a 0 in the [L, A] head mask, which
 * multiplies that head's attention probabilities (bertEncoder.ts `headMask`).
 */

/** Scores the model with a head mask (1 = keep, 0 = pruned), [L][A]. */
export type MaskEvaluator = (headMask: number[][]) => number | Promise<number>;

export interface PruningPoint {
  fraction: number;
  /** Heads masked at this point. */
  pruned: number;
  score: number;
}

export interface PruningCurve {
  order: 'importance' | 'random';
  /** Pruning order as [layer, head] pairs (the first is pruned first). */
  heads: [number, number][];
  points: PruningPoint[];
}

export interface PruningCurves {
  layers: number;
  headsPerLayer: number;
  fractions: number[];
  importance: PruningCurve;
  random: PruningCurve[];
  /** Mean and (population) standard deviation of the random curves at each fraction. */
  randomSummary: { fraction: number; mean: number; std: number }[];
  /** Distinct head masks evaluated (equal masks are evaluated once). */
  evaluations: number;
}

export interface PruningCurveOptions {
  importance: HeadMatrix;
  evaluate: MaskEvaluator;
  /** Fractions of all heads to mask, each in [0, 1]; default 0, 0.1, …, 0.9. */
  fractions?: readonly number[];
  /** Random orders (default 3). */
  randomOrders?: number;
  seed?: number | string;
  onPoint?: (curve: 'importance' | number, point: PruningPoint) => void;
}

export const DEFAULT_FRACTIONS: readonly number[] = [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9];

/** Heads by ascending importance; ties keep row-major order. */
export function importanceOrder(importance: HeadMatrix): [number, number][] {
  const flat = flattenHeads(importance, 'pruning importance');
  const A = importance[0].length;
  flat.forEach((v, i) => {
    if (!Number.isFinite(v)) throw new Error(`pruning importance: head [${Math.floor(i / A)}, ${i % A}] is ${v}`);
  });
  return flat
    .map((v, i) => ({ v, i }))
    .sort((a, b) => a.v - b.v || a.i - b.i)
    .map(({ i }) => [Math.floor(i / A), i % A]);
}

/** Heads masked at a fraction: round(f · N). */
export function headsToPrune(fraction: number, total: number): number {
  if (!(fraction >= 0 && fraction <= 1)) throw new Error(`pruning fraction must be in [0, 1], got ${fraction}`);
  return Math.round(fraction * total);
}

/** The [L][A] mask with the first `n` heads of `order` set to 0. */
export function maskFor(order: readonly [number, number][], n: number, L: number, A: number): number[][] {
  const m = Array.from({ length: L }, () => new Array<number>(A).fill(1));
  for (let k = 0; k < n; k++) m[order[k][0]][order[k][1]] = 0;
  return m;
}

export async function pruningCurves(o: PruningCurveOptions): Promise<PruningCurves> {
  const order = importanceOrder(o.importance);
  const L = o.importance.length;
  const A = o.importance[0].length;
  const total = L * A;
  const fractions = [...(o.fractions ?? DEFAULT_FRACTIONS)];
  if (fractions.length === 0) throw new Error('pruning: no fractions given');
  const K = o.randomOrders ?? 3;
  if (!Number.isInteger(K) || K < 0) throw new Error(`pruning: randomOrders must be a non-negative integer, got ${K}`);
  const cache = new Map<string, number>();

  const curve = async (kind: 'importance' | 'random', heads: [number, number][], label: 'importance' | number): Promise<PruningCurve> => {
    const points: PruningPoint[] = [];
    for (const fraction of fractions) {
      const pruned = headsToPrune(fraction, total);
      const mask = maskFor(heads, pruned, L, A);
      const key = mask.flat().join('');
      let score = cache.get(key);
      if (score === undefined) {
        score = await o.evaluate(mask);
        cache.set(key, score);
      }
      const p = { fraction, pruned, score };
      points.push(p);
      o.onPoint?.(label, p);
    }
    return { order: kind, heads, points };
  };

  const importance = await curve('importance', order, 'importance');
  const random: PruningCurve[] = [];
  const all = Array.from({ length: total }, (_, i) => [Math.floor(i / A), i % A] as [number, number]);
  for (let k = 0; k < K; k++) {
    const heads = new Rng(`${o.seed ?? 0}/pruning/${k}`).shuffle(all.slice());
    random.push(await curve('random', heads, k));
  }
  const randomSummary = fractions.map((fraction, i) => {
    const v = random.map((c) => c.points[i].score);
    const mean = v.length ? v.reduce((a, b) => a + b, 0) / v.length : NaN;
    const std = v.length ? Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / v.length) : NaN;
    return { fraction, mean, std };
  });
  return { layers: L, headsPerLayer: A, fractions, importance, random, randomSummary, evaluations: cache.size };
}
