import { UMAP } from 'umap-js';
import type { LoadedSplit } from '../data/shardReader.ts';
import type { BertEncoder } from '../model/bertEncoder.ts';
import { Rng } from '../runtime/rng.ts';
import { pooledFeatures } from './pooledFeatures.ts';

/**
 * 2-D maps of encoder features coloured by task (FastMTL's figures, docs/methods.md §4.6: pooled outputs before dropout,
 * then each axis min-max normalised to [0, 1]). FastMTL used t-SNE; this uses UMAP (umap-js), seeded through
 * its `random` option with our generator, so a seed gives the same map. Pure JS: runs in a worker.
 */

export interface FeatureSet {
  /** Row-major [n, dim]. */
  values: ArrayLike<number>;
  dim: number;
  tasks: readonly string[];
  uids: readonly string[];
}

export interface EmbeddingPoint {
  x: number;
  y: number;
  task: string;
  uid: string;
}

export interface EmbeddingMap {
  points: EmbeddingPoint[];
  method: 'umap';
  params: { nNeighbors: number; minDist: number; nEpochs: number | null; seed: number | string };
}

export interface EmbeddingMapOptions {
  seed?: number | string;
  nNeighbors?: number;
  minDist?: number;
  /** UMAP's default picks from the size (500 below 10 000 points). */
  nEpochs?: number;
  /** Called every optimisation epoch; return false to stop early. */
  onEpoch?: (epoch: number) => void | boolean;
}

/** Each column scaled to [0, 1] (a constant column becomes 0). */
export function minMaxColumns(points: readonly number[][]): number[][] {
  if (points.length === 0) return [];
  const d = points[0].length;
  const lo = new Array<number>(d).fill(Infinity);
  const hi = new Array<number>(d).fill(-Infinity);
  for (const p of points)
    for (let j = 0; j < d; j++) {
      lo[j] = Math.min(lo[j], p[j]);
      hi[j] = Math.max(hi[j], p[j]);
    }
  return points.map((p) => p.map((v, j) => (hi[j] > lo[j] ? (v - lo[j]) / (hi[j] - lo[j]) : 0)));
}

function rowsOf(f: FeatureSet): number[][] {
  const n = f.tasks.length;
  if (f.uids.length !== n) throw new Error(`embedding map: ${n} task labels but ${f.uids.length} uids`);
  if (!Number.isInteger(f.dim) || f.dim < 1) throw new Error(`embedding map: feature dimension must be a positive integer, got ${f.dim}`);
  if (f.values.length !== n * f.dim) throw new Error(`embedding map: ${f.values.length} values for ${n} points of dimension ${f.dim}`);
  const rows: number[][] = [];
  for (let i = 0; i < n; i++) {
    const r = new Array<number>(f.dim);
    for (let j = 0; j < f.dim; j++) {
      const v = f.values[i * f.dim + j];
      if (!Number.isFinite(v)) throw new Error(`embedding map: point ${i} (uid ${f.uids[i]}, ${f.tasks[i]}) has feature ${j} = ${v}`);
      r[j] = v;
    }
    rows.push(r);
  }
  return rows;
}

export async function embeddingMap(f: FeatureSet, opts: EmbeddingMapOptions = {}): Promise<EmbeddingMap> {
  const rows = rowsOf(f);
  const n = rows.length;
  if (n < 3) throw new Error(`embedding map: needs at least 3 points, got ${n}`);
  const seed = opts.seed ?? 501; // vis_hidden.py's random_state
  const nNeighbors = Math.min(opts.nNeighbors ?? 15, n - 1);
  const minDist = opts.minDist ?? 0.1;
  const rng = new Rng(`${seed}/umap`);
  const umap = new UMAP({ nComponents: 2, nNeighbors, minDist, nEpochs: opts.nEpochs, random: () => rng.uniform() });
  const xy = await umap.fitAsync(rows, opts.onEpoch);
  const norm = minMaxColumns(xy);
  return {
    points: norm.map(([x, y], i) => ({ x, y, task: f.tasks[i], uid: f.uids[i] })),
    method: 'umap',
    params: { nNeighbors, minDist, nEpochs: opts.nEpochs ?? null, seed },
  };
}

/** Several tasks' features (e.g. from `pooledFeatures`) stacked into one set, task by task. */
export function stackFeatures(parts: readonly { task: string; uids: readonly string[]; values: ArrayLike<number>; dim: number }[]): FeatureSet {
  if (parts.length === 0) throw new Error('embedding map: no features');
  const dim = parts[0].dim;
  const total = parts.reduce((a, p) => a + p.uids.length, 0);
  const values = new Float32Array(total * dim);
  const tasks: string[] = [];
  const uids: string[] = [];
  let at = 0;
  for (const p of parts) {
    if (p.dim !== dim) throw new Error(`embedding map: ${p.task} has features of dimension ${p.dim}, ${parts[0].task} of ${dim}`);
    if (p.values.length !== p.uids.length * dim) throw new Error(`embedding map: ${p.task} has ${p.values.length} values for ${p.uids.length} points`);
    values.set(p.values, at * dim);
    for (const u of p.uids) {
      tasks.push(p.task);
      uids.push(u);
    }
    at += p.uids.length;
  }
  return { values, dim, tasks, uids };
}

/**
 * The map's input for several tasks: each task's pooled outputs (eval mode, before any dropout) over the given
 * rows of its split (FastMTL: the first 2000 unused training rows per task), stacked task by task.
 */
export async function pooledFeatureSet(
  encoder: BertEncoder,
  parts: readonly { task: string; split: LoadedSplit; rows?: readonly number[]; taskId?: number }[],
  batchSize = 32,
): Promise<FeatureSet> {
  const feats = [];
  for (const p of parts) {
    const f = await pooledFeatures(encoder, p.split, { rows: p.rows, batchSize, taskId: p.taskId });
    feats.push({ task: p.task, uids: f.uids, values: f.values, dim: f.dim });
  }
  return stackFeatures(feats);
}
