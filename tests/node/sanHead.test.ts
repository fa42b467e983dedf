import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { useBackend } from '../helpers/nodeBackends.ts';
import { SanHead, variationalDropout, type SanLayers } from '../../src/engine/model/heads/sanHead.ts';
import type { HeadFeatures } from '../../src/engine/model/heads/taskHead.ts';
import { Rng } from '../../src/engine/runtime/rng.ts';

const B = 3,
  T = 7,
  H = 8,
  C = 3;
// Row 0: [CLS] p p [SEP] | h h [SEP]; row 1: [CLS] p [SEP] | h [SEP] pad pad; row 2: [CLS] p p p [SEP] | [SEP] pad.
const TYPES = [
  [0, 0, 0, 0, 1, 1, 1],
  [0, 0, 0, 1, 1, 0, 0],
  [0, 0, 0, 0, 0, 1, 0],
];
const MASK = [
  [1, 1, 1, 1, 1, 1, 1],
  [1, 1, 1, 1, 1, 0, 0],
  [1, 1, 1, 1, 1, 1, 0],
];

function randomSequence(seed: number): number[][][] {
  const rng = new Rng(seed);
  return Array.from({ length: B }, () => Array.from({ length: T }, () => Array.from({ length: H }, () => rng.normal(0, 1))));
}

function features(seq: number[][][]): HeadFeatures {
  return {
    sequence: tf.tensor3d(seq),
    pooled: tf.zeros([B, H]) as tf.Tensor2D,
    tokenTypeIds: tf.tensor2d(TYPES, undefined, 'int32'),
    attentionMask: tf.tensor2d(MASK, undefined, 'int32'),
  };
}

/** Dropout masks and turn mask of one training-mode call (see SanHead.trace), as arrays. */
interface Masks {
  drops: number[][][] | number[][][][];
  M: number[][];
}

/**
 * Plain float64 SAN forward written from docs/methods.md §1.4.2 with explicit loops: at eval (no dropout, M = 1), or with
 * the dropout masks and turn mask of a training-mode call.
 */
function referenceSan(L: SanLayers, X: number[][][], masks?: Masks): { output: number[][]; scores: number[][][]; s0: number[][] } {
  const K = L.num_turn[0];
  // drop(v, i, b): the i-th dropout of row b ([B,1,H] masks broadcast over positions).
  const drop = (v: number[], i: number, b: number) => {
    if (!masks) return v;
    const m = masks.drops[i][b] as number[] | number[][];
    const row = (Array.isArray(m[0]) ? (m as number[][])[0] : m) as number[];
    return v.map((x, h) => x * row[h]);
  };
  const lin = (W: number[][], b: number[], x: number[]) => W.map((row, o) => b[o] + row.reduce((s, w, i) => s + w * x[i], 0));
  const sig = (x: number) => 1 / (1 + Math.exp(-x));
  const softmaxOver = (vals: number[], valid: boolean[]) => {
    const m = Math.max(...vals.filter((_, j) => valid[j]));
    const e = vals.map((v, j) => (valid[j] ? Math.exp(v - m) : 0));
    const z = e.reduce((a, b) => a + b, 0);
    return e.map((v) => v / z);
  };
  const softmax = (v: number[]) =>
    softmaxOver(
      v,
      v.map(() => true),
    );
  const output: number[][] = [];
  const scores: number[][][] = Array.from({ length: K }, () => []);
  const s0s: number[][] = [];
  for (let b = 0; b < B; b++) {
    const prem = TYPES[b].map((t, j) => MASK[b][j] === 1 && t === 0);
    const hyp = TYPES[b].map((t, j) => MASK[b][j] === 1 && t === 1);
    const Xq = X[b].map((x) => drop(x, 0, b));
    const a = softmaxOver(
      Xq.map((x) => lin(L.query_wsum.W, L.query_wsum.b, x)[0]),
      hyp,
    );
    let s = Array.from({ length: H }, (_, h) => Xq.reduce((acc, x, j) => acc + a[j] * x[h], 0));
    s0s.push(s);
    const probs: number[][] = [];
    for (let k = 0; k < K; k++) {
      const Ws = lin(L.attn.W, L.attn.b, drop(s, 1 + 4 * k, b));
      const att = X[b].map((x) => drop(x, 2 + 4 * k, b).reduce((acc, xi, i) => acc + xi * Ws[i], 0));
      const beta = softmaxOver(att, prem);
      const x = Array.from({ length: H }, (_, h) => X[b].reduce((acc, xj, j) => acc + beta[j] * xj[h], 0));
      const feat = [...x, ...s, ...x.map((xi, i) => Math.abs(xi - s[i])), ...x.map((xi, i) => xi * s[i])];
      const sc = lin(L.classifier.W, L.classifier.b, drop(feat, 3 + 4 * k, b));
      scores[k].push(sc);
      probs.push(softmax(sc));
      // torch GRUCell, gate blocks r, z, n
      const gi = lin(L['rnn.weight_ih'], L['rnn.bias_ih'], x);
      const sd = drop(s, 4 + 4 * k, b);
      const gh = lin(L['rnn.weight_hh'], L['rnn.bias_hh'], sd);
      s = Array.from({ length: H }, (_, i) => {
        const r = sig(gi[i] + gh[i]);
        const z = sig(gi[H + i] + gh[H + i]);
        const n = Math.tanh(gi[2 * H + i] + r * gh[2 * H + i]);
        return (1 - z) * n + z * sd[i];
      });
    }
    const M = masks ? masks.M[b] : new Array(K).fill(1);
    output.push(Array.from({ length: C }, (_, c) => Math.log(probs.reduce((acc, p, k) => acc + M[k] * p[c], 0) / K)));
  }
  return { output, scores, s0: s0s };
}

const maxDiff = (a: number[][], b: number[][]) => Math.max(...a.flatMap((r, i) => r.map((v, j) => Math.abs(v - b[i][j]))));

beforeAll(async () => {
  await useBackend('cpu');
});

describe('SAN answer module (MT-DNN §1.4.2, yml-era masks)', () => {
  const heads: SanHead[] = [];
  afterAll(() => heads.forEach((h) => h.dispose()));
  const make = (opts: { numTurns?: number; memDropP?: number } = {}, seed = 7, dropout = 0.1) => {
    const h = new SanHead('rte', H, C, dropout, opts, { seed });
    heads.push(h);
    return h;
  };
  /** Larger weights than the 0.02 init so every term of the forward matters numerically. */
  const scaled = (h: SanHead, f = 25): SanHead => {
    const s = h.snapshot();
    const L = s.layers as unknown as SanLayers;
    const up = (m: { W: number[][]; b: number[] }) => ({ W: m.W.map((r) => r.map((x) => x * f)), b: m.b.map((x, i) => x + 0.1 * Math.sin(i + 1)) });
    const out = SanHead.fromSnapshot({ ...s, layers: { ...s.layers, query_wsum: up(L.query_wsum), attn: up(L.attn), classifier: up(L.classifier) } }, H);
    heads.push(out);
    return out;
  };

  it('with K = 1 at eval, the output equals log_softmax(score₀)', () => {
    const san = scaled(make({ numTurns: 1 }));
    const [out, ls] = tf.tidy(() => {
      const t = san.trace(features(randomSequence(1)), { training: false });
      return [t.output.arraySync(), tf.logSoftmax(t.scores[0]).arraySync()];
    }) as [number[][], number[][]];
    expect(maxDiff(out, ls)).toBeLessThan(1e-6);
    expect(Math.max(...out.flat().map(Math.abs))).toBeGreaterThan(0.01); // not a trivially uniform output
  });

  it('at eval, output = log(mean_k softmax(score_k)) and matches a float64 loop implementation within 1e-5', () => {
    const san = scaled(make({ numTurns: 5 }, 3));
    const X = randomSequence(2);
    const got = tf.tidy(() => {
      const t = san.trace(features(X), { training: false });
      return { output: t.output.arraySync(), scores: t.scores.map((s) => s.arraySync()), s0: t.initialState.arraySync(), M: t.turnMask.arraySync() };
    }) as { output: number[][]; scores: number[][][]; s0: number[][]; M: number[][] };
    const ref = referenceSan(san.snapshot().layers as unknown as SanLayers, X);
    expect(got.M.flat()).toEqual(new Array(B * 5).fill(1));
    expect(maxDiff(got.s0, ref.s0)).toBeLessThan(1e-5);
    got.scores.forEach((s, k) => expect(maxDiff(s, ref.scores[k])).toBeLessThan(1e-5));
    expect(maxDiff(got.output, ref.output)).toBeLessThan(1e-5);
    // The turns differ (so the average is a real average, not K copies of one turn).
    expect(maxDiff(ref.scores[0], ref.scores[4])).toBeGreaterThan(1e-3);
  });

  it('at training, matches the float64 loop implementation given the same dropout and turn masks', () => {
    const san = scaled(make({ numTurns: 4, memDropP: 0.4 }, 23, 0.3));
    const X = randomSequence(6);
    const drops: tf.Tensor[] = [];
    const got = tf.tidy(() => {
      const t = san.trace(features(X), { training: true, dropoutSeed: 77 }, drops);
      return { output: t.output.arraySync() as number[][], M: t.turnMask.arraySync() as number[][] };
    });
    expect(drops.map((d) => d.shape)).toEqual([
      [B, 1, H],
      ...Array.from({ length: 4 }, () => [
        [B, H],
        [B, 1, H],
        [B, 4 * H],
        [B, H],
      ]).flat(),
    ]);
    const masks: Masks = { drops: drops.map((d) => d.arraySync()) as number[][][], M: got.M };
    tf.dispose(drops);
    expect(masks.drops.flat(3).some((x) => x === 0)).toBe(true);
    expect(got.M.flat().some((x) => x === 0)).toBe(true);
    const ref = referenceSan(san.snapshot().layers as unknown as SanLayers, X, masks);
    expect(maxDiff(got.output, ref.output)).toBeLessThan(1e-5);
  });

  it('respects the masks: s₀ reads only the hypothesis, the memory only the premise, padding nothing', () => {
    const san = scaled(make({}, 5));
    const run = (X: number[][][]) =>
      tf.tidy(() => {
        const t = san.trace(features(X), { training: false });
        return { out: t.output.arraySync() as number[][], s0: t.initialState.arraySync() as number[][] };
      });
    const X = randomSequence(3);
    const base = run(X);
    const edit = (pred: (b: number, j: number) => boolean) => X.map((row, b) => row.map((x, j) => (pred(b, j) ? x.map((v) => v * -3 + 1) : x)));
    const isPad = (b: number, j: number) => MASK[b][j] === 0;
    const isPrem = (b: number, j: number) => MASK[b][j] === 1 && TYPES[b][j] === 0;
    const isHyp = (b: number, j: number) => MASK[b][j] === 1 && TYPES[b][j] === 1;

    const pad = run(edit(isPad));
    expect(maxDiff(pad.out, base.out)).toBe(0);
    expect(maxDiff(pad.s0, base.s0)).toBe(0);

    const prem = run(edit(isPrem));
    expect(maxDiff(prem.s0, base.s0)).toBe(0);
    expect(maxDiff(prem.out, base.out)).toBeGreaterThan(1e-3);

    const hyp = run(edit(isHyp));
    expect(maxDiff(hyp.s0, base.s0)).toBeGreaterThan(1e-3);
  });

  it('gradients reach every SAN parameter (b₀ is inert) and match float32 central differences (training mode, fixed seeds)', () => {
    const san = scaled(make({}, 11), 10);
    const X = randomSequence(4);
    const labels = tf.tensor1d([0, 2, 1], 'int32');
    const f = features(X);
    const lossFn = () => san.loss(san.forward(f, { training: true, dropoutSeed: 1234 }), labels);
    const vars = san.namedVariables();
    expect([...vars.keys()].sort()).toEqual([
      'heads.rte.san.attn.linear.bias',
      'heads.rte.san.attn.linear.weight',
      'heads.rte.san.classifier.proj.bias',
      'heads.rte.san.classifier.proj.weight',
      'heads.rte.san.query_wsum.linear.bias',
      'heads.rte.san.query_wsum.linear.weight',
      'heads.rte.san.rnn.bias_hh',
      'heads.rte.san.rnn.bias_ih',
      'heads.rte.san.rnn.weight_hh',
      'heads.rte.san.rnn.weight_ih',
    ]);
    const { grads } = tf.variableGrads(lossFn as () => tf.Scalar, [...vars.values()]);
    // float32 central differences: rounding error ~1e-7/eps ≈ 3e-4, curvature O(eps²) (the sharp s₀ softmax
    // needs eps ≤ 3e-4 to converge); tolerance 1e-3 + 2 % relative.
    const eps = 3e-4;
    let checked = 0;
    for (const [name, v] of vars) {
      const g = grads[v.name].dataSync();
      if (name.endsWith('query_wsum.linear.bias')) {
        // b₀ shifts every score of the s₀ softmax equally, so its true gradient is exactly 0 (as in MT-DNN).
        expect(Math.abs(g[0])).toBeLessThan(1e-6);
        continue;
      }
      expect(Math.max(...g.map(Math.abs)), `${name} gradient is all zero`).toBeGreaterThan(1e-4);
      const order = [...g.keys()].sort((a, b) => Math.abs(g[b]) - Math.abs(g[a]));
      for (const idx of [order[0], order[Math.floor(order.length / 2)]]) {
        const orig = v.dataSync().slice();
        const at = (delta: number) => {
          const p = orig.slice();
          p[idx] += delta;
          v.assign(tf.tensor(p, v.shape));
          return tf.tidy(() => lossFn().dataSync()[0]);
        };
        const fd = (at(eps) - at(-eps)) / (2 * eps);
        v.assign(tf.tensor(orig, v.shape));
        expect(Math.abs(fd - g[idx]), `${name}[${idx}] analytic ${g[idx]} vs fd ${fd}`).toBeLessThan(1e-3 + 0.02 * Math.abs(g[idx]));
        checked++;
      }
    }
    expect(checked).toBe(18);
    tf.dispose([...Object.values(grads), labels, ...Object.values(f)]);
  });

  it('training mode: turn mask is Bernoulli(0.9)/0.9 with one forced turn per row; dropout masks are seeded', () => {
    const san = make({}, 13);
    const big = 2000;
    const seq = tf.randomNormal([big, 4, H], 0, 1, 'float32', 1) as tf.Tensor3D;
    const f: HeadFeatures = {
      sequence: seq,
      pooled: tf.zeros([big, H]) as tf.Tensor2D,
      tokenTypeIds: tf.tile(tf.tensor2d([[0, 0, 1, 1]], undefined, 'int32'), [big, 1]) as tf.Tensor2D,
      attentionMask: tf.ones([big, 4], 'int32') as tf.Tensor2D,
    };
    const run = (seed: number) =>
      tf.tidy(() => {
        const t = san.trace(f, { training: true, dropoutSeed: seed });
        return { M: t.turnMask.arraySync() as number[][], out: t.output.arraySync() as number[][] };
      });
    const a = run(42);
    const values = new Set(a.M.flat().map((x) => x.toFixed(6)));
    expect([...values].sort()).toEqual(['0.000000', (1 / 0.9).toFixed(6)]);
    expect(Math.min(...a.M.map((r) => r.filter((x) => x > 0).length))).toBeGreaterThanOrEqual(1);
    // P(kept) = 0.9 + 0.1 · P(forced) = 0.9 + 0.1/5 = 0.92
    const kept = a.M.flat().filter((x) => x > 0).length / (big * 5);
    expect(Math.abs(kept - 0.92)).toBeLessThan(0.01);
    expect(run(42)).toEqual(a);
    expect(maxDiff(run(43).out, a.out)).toBeGreaterThan(1e-4);
    tf.dispose(Object.values(f));
  });

  it('variational dropout shares one [B, H] mask over all positions', () => {
    const out = tf.tidy(() => variationalDropout(tf.ones([6, 5, 16]), 0.3, true, 9).arraySync()) as number[][][];
    let zeros = 0;
    for (const row of out) {
      for (let h = 0; h < 16; h++) {
        const col = row.map((x) => x[h]);
        expect(new Set(col).size).toBe(1);
        expect([0, 1 / 0.7].some((v) => Math.abs(col[0] - v) < 1e-6)).toBe(true);
        if (col[0] === 0) zeros++;
      }
    }
    expect(zeros).toBeGreaterThan(0);
    expect(tf.tidy(() => variationalDropout(tf.ones([2, 3]), 0.3, false, 9).arraySync())).toEqual([
      [1, 1, 1],
      [1, 1, 1],
    ]);
  });

  it('snapshot → restore (through JSON) gives the same output; tensor count is flat over repeated steps', () => {
    const san = scaled(make({ numTurns: 3, memDropP: 0.2 }, 17));
    const back = SanHead.fromSnapshot(JSON.parse(JSON.stringify(san.snapshot())), H);
    heads.push(back);
    expect(back.numTurns).toBe(3);
    expect(back.memDropP).toBe(0.2);
    const f = features(randomSequence(5));
    const outOf = (h: SanHead, training: boolean) => tf.tidy(() => h.forward(f, { training, dropoutSeed: 3 }).arraySync());
    expect(outOf(back, false)).toEqual(outOf(san, false));
    expect(outOf(back, true)).toEqual(outOf(san, true));

    const labels = tf.tensor1d([1, 0, 2], 'int32');
    const vars = [...san.namedVariables().values()];
    const counts: number[] = [];
    for (let i = 0; i < 20; i++) {
      const { value, grads } = tf.variableGrads(() => san.loss(san.forward(f, { training: true, dropoutSeed: i }), labels), vars);
      tf.dispose([value, ...Object.values(grads)]);
      counts.push(tf.memory().numTensors);
    }
    expect(new Set(counts).size).toBe(1);
    tf.dispose([labels, ...Object.values(f)]);
  });

  it('refuses one class (SAN collapses to a constant; use the linear head)', () => {
    expect(() => new SanHead('qnli', H, 1)).toThrow('qnli: SAN needs at least 2 classes (with one its output is constant; use the linear head), got 1');
  });
});
