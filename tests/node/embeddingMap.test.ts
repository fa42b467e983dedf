import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { useBackend } from '../helpers/nodeBackends.ts';
import { tinyExperiment, tinyModel, toySplits } from '../helpers/tinyTraining.ts';
import { embeddingMap, minMaxColumns, pooledFeatureSet, stackFeatures, type EmbeddingPoint } from '../../src/engine/analysis/embeddingMap.ts';
import { pooledFeatures } from '../../src/engine/analysis/pooledFeatures.ts';
import { Rng } from '../../src/engine/runtime/rng.ts';

const DIM = 16;

/** Two Gaussian clusters in 16-D (unit variance, means 0 and 4 in every coordinate). */
function twoClusters(perCluster: number, seed: number) {
  const rng = new Rng(`clusters/${seed}`);
  const values = new Float32Array(2 * perCluster * DIM);
  const tasks: string[] = [];
  const uids: string[] = [];
  for (let i = 0; i < 2 * perCluster; i++) {
    const c = i < perCluster ? 0 : 1;
    for (let j = 0; j < DIM; j++) values[i * DIM + j] = rng.normal(4 * c, 1);
    tasks.push(c === 0 ? 'RTE' : 'MRPC');
    uids.push(`${c}-${i}`);
  }
  return { values, dim: DIM, tasks, uids };
}

/** Share of each point's k nearest 2-D neighbours that have its task. */
function knnPurity(points: EmbeddingPoint[], k: number): number {
  let same = 0;
  for (const p of points) {
    const near = points
      .filter((q) => q !== p)
      .map((q) => ({ q, d: (q.x - p.x) ** 2 + (q.y - p.y) ** 2 }))
      .sort((a, b) => a.d - b.d)
      .slice(0, k);
    same += near.filter((n) => n.q.task === p.task).length;
  }
  return same / (points.length * k);
}

describe('embedding maps (UMAP)', () => {
  it('keeps two separated 16-D clusters apart in 2-D (5-NN purity > 0.95), normalised to [0, 1] per axis', async () => {
    const f = twoClusters(60, 1);
    const m = await embeddingMap(f, { seed: 501 });
    expect(m.points).toHaveLength(120);
    expect(m.points[0]).toMatchObject({ task: 'RTE', uid: '0-0' });
    expect(m.points[119]).toMatchObject({ task: 'MRPC', uid: '1-119' });
    expect(knnPurity(m.points, 5)).toBeGreaterThan(0.95);
    for (const axis of ['x', 'y'] as const) {
      const v = m.points.map((p) => p[axis]);
      expect(Math.min(...v)).toBe(0);
      expect(Math.max(...v)).toBe(1);
    }
    expect(m.params).toEqual({ nNeighbors: 15, minDist: 0.1, nEpochs: null, seed: 501 });
  });

  it('is deterministic for a seed and changes with it', async () => {
    const f = twoClusters(30, 2);
    const a = await embeddingMap(f, { seed: 9, nEpochs: 100 });
    const b = await embeddingMap(f, { seed: 9, nEpochs: 100 });
    const c = await embeddingMap(f, { seed: 10, nEpochs: 100 });
    expect(b.points).toEqual(a.points);
    expect(c.points).not.toEqual(a.points);
  });

  it("stacks several tasks' features and rejects inconsistent input by name", async () => {
    const s = stackFeatures([
      { task: 'RTE', uids: ['a', 'b'], values: [1, 2, 3, 4], dim: 2 },
      { task: 'SST-2', uids: ['c'], values: new Float32Array([5, 6]), dim: 2 },
    ]);
    expect(Array.from(s.values)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(s.tasks).toEqual(['RTE', 'RTE', 'SST-2']);
    expect(() =>
      stackFeatures([
        { task: 'RTE', uids: ['a'], values: [1, 2], dim: 2 },
        { task: 'CoLA', uids: ['b'], values: [1], dim: 1 },
      ]),
    ).toThrow('embedding map: CoLA has features of dimension 1, RTE of 2');
    await expect(embeddingMap({ values: [1, 2, NaN, 4, 5, 6], dim: 2, tasks: ['A', 'A', 'B'], uids: ['p', 'q', 'r'] })).rejects.toThrow(
      'embedding map: point 1 (uid q, A) has feature 0 = NaN',
    );
    expect(
      minMaxColumns([
        [1, 5],
        [3, 5],
        [2, 5],
      ]),
    ).toEqual([
      [0, 0],
      [1, 0],
      [0.5, 0],
    ]);
  });
});

describe('pooled features of a tiny model', () => {
  beforeAll(async () => {
    await useBackend('cpu');
  });

  it('are the eval-mode pooled output, in the order asked for, without leaking tensors', async () => {
    const model = tinyModel(tinyExperiment());
    const data = toySplits(10);
    const before = tf.memory().numTensors;
    const f = await pooledFeatures(model.encoder, data.RTE.train, { rows: [7, 2, 5], batchSize: 2 });
    expect(tf.memory().numTensors).toBe(before);
    expect(f.uids).toEqual(['p7', 'p2', 'p5']);
    expect(f.dim).toBe(16);
    // Row 2 alone gives the same vector (eval mode: no dropout; padding does not change [CLS]).
    const one = await pooledFeatures(model.encoder, data.RTE.train, { rows: [2] });
    const got = Array.from(f.values.slice(16, 32));
    Array.from(one.values).forEach((v, i) => expect(got[i]).toBeCloseTo(v, 5));
    // Two tasks' features stacked and mapped (the FastMTL figure's pipeline, end to end).
    const set = await pooledFeatureSet(model.encoder, [
      { task: 'RTE', split: data.RTE.train, rows: [0, 1, 2, 3] },
      { task: 'STS-B', split: data['STS-B'].train },
    ]);
    expect(set.tasks).toEqual([...Array(4).fill('RTE'), ...Array(10).fill('STS-B')]);
    Array.from(set.values)
      .slice(2 * 16, 3 * 16)
      .forEach((v, i) => expect(v).toBeCloseTo(got[i], 5));
    const m = await embeddingMap(set, { seed: 1, nEpochs: 50 });
    expect(m.points.map((p) => p.uid)).toEqual(set.uids);
    model.dispose();
  });
});
