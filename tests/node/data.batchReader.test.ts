import { describe, expect, it } from 'vitest';
import { BatchReader, type Batch } from '../../src/engine/data/batchReader.ts';
import type { LoadedSplit } from '../../src/engine/data/shardReader.ts';
import type { ShardManifest } from '../../src/engine/data/shardStore.ts';

/** A split whose row i has `lengths[i]` tokens: ids 1000·k + i·10 + j, segment A = ceil(len/2), label i % 3. */
function split(task: string, lengths: number[], padId = 0, k = 1): LoadedSplit {
  const rows = lengths.length;
  const offsets = new Uint32Array(rows + 1);
  lengths.forEach((l, i) => (offsets[i + 1] = offsets[i] + l));
  const ids = new Int32Array(offsets[rows]);
  lengths.forEach((l, i) => {
    for (let j = 0; j < l; j++) ids[offsets[i] + j] = 1000 * k + i * 10 + j;
  });
  return {
    task: task as LoadedSplit['task'],
    split: 'train',
    manifest: { padId } as ShardManifest,
    rows,
    ids,
    offsets,
    lengths: Uint16Array.from(lengths),
    segmentA: Uint16Array.from(lengths.map((l) => Math.ceil(l / 2))),
    labels: Float32Array.from(lengths.map((_, i) => i % 3)),
    uids: lengths.map((_, i) => `${task}-${i}`),
  };
}

const summary = (b: Batch) => `${b.task}:${b.uids.join(',')}`;

function take(r: BatchReader, n: number): Batch[] {
  return Array.from({ length: n }, () => r.next());
}

/** 1000 rows with pseudo-random lengths 3..130 (an LCG, so the test data is fixed). */
function randomLengths(n: number, seed: number): number[] {
  let s = seed;
  return Array.from({ length: n }, () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return 3 + (s % 128);
  });
}

describe('batch reader', () => {
  it('pads each batch to its longest row, with type ids after segment A and a mask over real tokens', () => {
    const r = new BatchReader([split('RTE', [3, 5, 4, 2], 7)], { batchSize: 4, seed: 1, shuffle: false, bucketBatches: 1 });
    const b = r.next();
    expect([b.batchSize, b.seqLen, b.task, b.split]).toEqual([4, 5, 'RTE', 'train']);
    expect(b.uids).toEqual(['RTE-0', 'RTE-1', 'RTE-2', 'RTE-3']);
    expect(Array.from(b.inputIds)).toEqual([1000, 1001, 1002, 7, 7, 1010, 1011, 1012, 1013, 1014, 1020, 1021, 1022, 1023, 7, 1030, 1031, 7, 7, 7]);
    expect(Array.from(b.tokenTypeIds)).toEqual([0, 0, 1, 0, 0, 0, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 0, 0, 0]);
    expect(Array.from(b.attentionMask)).toEqual([1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 0, 0, 0]);
    expect(Array.from(b.labels)).toEqual([0, 1, 2, 0]);
  });

  it('covers every row of every split once per epoch, batches never mixing tasks', () => {
    const splits = [split('RTE', randomLengths(53, 1)), split('MRPC', randomLengths(20, 2), 0, 2)];
    const r = new BatchReader(splits, { batchSize: 8, seed: 42, bucketBatches: 3 });
    expect(r.batchesPerEpoch).toBe(7 + 3);
    for (let epoch = 0; epoch < 2; epoch++) {
      const seen: string[] = [];
      for (const b of take(r, r.batchesPerEpoch)) {
        expect(new Set(b.uids.map((u) => u.split('-')[0]))).toEqual(new Set([b.task]));
        seen.push(...b.uids);
      }
      expect(seen.sort()).toEqual([...splits[0].uids, ...splits[1].uids].sort());
    }
    expect(r.currentEpoch).toBe(1);
    // dropLast leaves out each split's partial batch.
    expect(new BatchReader(splits, { batchSize: 8, seed: 42, dropLast: true }).batchesPerEpoch).toBe(6 + 2);
  });

  it('is deterministic for a seed, differs across seeds and across epochs', () => {
    const splits = [split('RTE', randomLengths(100, 3)), split('WNLI', randomLengths(30, 4), 0, 2)];
    const a = take(new BatchReader(splits, { batchSize: 16, seed: 7 }), 30).map(summary);
    const b = take(new BatchReader(splits, { batchSize: 16, seed: 7 }), 30).map(summary);
    const c = take(new BatchReader(splits, { batchSize: 16, seed: 8 }), 30).map(summary);
    expect(b).toEqual(a);
    expect(c).not.toEqual(a);
    const perEpoch = 7 + 2;
    expect(a.slice(perEpoch, 2 * perEpoch)).not.toEqual(a.slice(0, perEpoch));
  });

  it('length bucketing cuts padding', () => {
    const s = split('QQP', randomLengths(1000, 5));
    const padded = (bucketBatches: number) =>
      take(new BatchReader([s], { batchSize: 32, seed: 3, bucketBatches }), 32).reduce((n, b) => n + b.batchSize * b.seqLen, 0);
    const real = Array.from(s.lengths).reduce((a, b) => a + b, 0);
    const plain = padded(1);
    const bucketed = padded(50);
    // Random lengths 3..130 in batches of 32: without buckets nearly every batch pads to ~128.
    expect(plain / real).toBeGreaterThan(1.7);
    expect(bucketed / real).toBeLessThan(1.1);
  });

  it('resumes from a saved JSON position, mid-epoch and across the epoch boundary', () => {
    const splits = [split('RTE', randomLengths(70, 6)), split('CoLA', randomLengths(45, 7), 0, 2)];
    const opts = { batchSize: 10, seed: 'mtl-run-1', bucketBatches: 2 };
    const first = new BatchReader(splits, opts);
    const perEpoch = first.batchesPerEpoch;
    expect(perEpoch).toBe(7 + 5);
    take(first, 5);
    const saved = JSON.stringify(first.position);
    const expected = take(first, perEpoch * 2).map(summary);

    const second = new BatchReader(splits, opts);
    second.restore(JSON.parse(saved));
    expect(take(second, perEpoch * 2).map(summary)).toEqual(expected);

    // Saved exactly at the end of an epoch.
    const third = new BatchReader(splits, opts);
    take(third, perEpoch);
    const atEnd = JSON.parse(JSON.stringify(third.position));
    expect(atEnd.cursor).toBe(perEpoch);
    const next = take(third, 3).map(summary);
    const fourth = new BatchReader(splits, opts);
    fourth.restore(atEnd);
    expect(take(fourth, 3).map(summary)).toEqual(next);

    expect(() => fourth.restore({ ...atEnd, cursor: perEpoch + 1 })).toThrow(`batch position cursor ${perEpoch + 1} is past the epoch's ${perEpoch} batches`);
    expect(() => fourth.restore({ ...atEnd, rngState: [1, 2, 3] })).toThrow('rng state must be an array of 4 uint32 words, got [1,2,3]');
  });
});
