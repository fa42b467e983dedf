import { deflateSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { decodeAppState, defaultAppState, encodeAppState, type AppState } from '../../src/urlState/appState.ts';
import { parseAppExperiment } from '../../src/urlState/appExperiment.ts';
import { syntheticDemoExperiment, glueDemoExperiment } from '../../src/urlState/defaults.ts';
import { decodeHash, encodeHash, MAX_HASH_CHARS, MAX_INFLATED_BYTES, toBase64Url } from '../../src/urlState/hashCodec.ts';
import { packSnapshot, unpackSnapshot } from '../../src/urlState/snapshot.ts';
import { fromSnapshot, toSnapshot, type ShownResults } from '../../src/ui/state/results.ts';
import { fieldErrors } from '../../src/ui/views/experimentErrors.ts';
import { rawHash, sampleSnapshot } from '../helpers/urlStateFixtures.ts';

const hashOf = (value: unknown) => encodeHash(value);
const snapshot = sampleSnapshot;

describe('hash codec', () => {
  it('round-trips JSON through deflate + base64url with a version prefix', () => {
    const value = { a: [1, 2.5, 'x'], b: { c: null, d: 'ünïcødé ✓' } };
    const h = encodeHash(value);
    expect(h).toMatch(/^v1\.[A-Za-z0-9_-]+$/);
    expect(decodeHash(h)).toEqual(value);
    expect(decodeHash(`#${h}`)).toEqual(value);
  });

  it('rejects another version, garbage, truncation, oversize and a decompression bomb with exact messages', () => {
    expect(() => decodeHash('v2.abc')).toThrow('the link was made by a different Taskscope version (state format v2; this version reads v1)');
    expect(() => decodeHash('hello')).toThrow('the link has no Taskscope state (expected #v1.…)');
    expect(() => decodeHash('v1.%%%')).toThrow('the link is damaged: its data has characters that base64url does not use');
    expect(() => decodeHash('v1.AAAA')).toThrow(/^the link is damaged: its data is not a valid deflate stream/);
    const good = encodeHash({ x: 'y'.repeat(200) });
    expect(() => decodeHash(good.slice(0, good.length - 6))).toThrow(/the link is damaged/);
    const big = `v1.${'A'.repeat(100_000)}`;
    expect(() => decodeHash(big)).toThrow(`the link's state is ${big.length} characters long; the limit is ${MAX_HASH_CHARS}`);
    const bomb = `v1.${toBase64Url(deflateSync(new Uint8Array(8 * 1024 * 1024), { level: 9 }))}`;
    expect(bomb.length).toBeLessThan(MAX_HASH_CHARS);
    expect(() => decodeHash(bomb)).toThrow(`the link's data inflates to more than ${MAX_INFLATED_BYTES} bytes; refused`);
    expect(() => decodeHash(rawHash('{"a": '))).toThrow(/^the link is damaged: its data is not JSON/);
  });
});

describe('app state in the URL', () => {
  it('round-trips the whole state: view, experiment, view options, demo settings', () => {
    const s: AppState = {
      ...defaultAppState(),
      view: 'correlation',
      experiment: parseAppExperiment({
        ...glueDemoExperiment({
          mirror: 'http://127.0.0.1:5173/mirror/hub',
          model: './mirror/fixtures/bert-tiny-arch-random',
          tasks: ['RTE', 'MRPC'],
          rowsPerTask: 64,
        }),
        batchSize: 8,
        seed: 7,
      }),
      ui: { ...defaultAppState().ui, headsTask: 'MRPC', corrMethod: 'spearman', theme: 'dark' },
      demo: { ...defaultAppState().demo, rowsPerTask: 64, tasks: ['RTE', 'MRPC'] },
    };
    const back = decodeAppState(`#${encodeAppState(s)}`);
    expect(back.error).toBeNull();
    expect(back.state).toEqual({ ...s, snapshot: null });
    expect(back.state.experiment.model).toEqual({ kind: 'url', url: './mirror/fixtures/bert-tiny-arch-random' });
  });

  it('an empty hash is the default state without a message', () => {
    expect(decodeAppState('')).toEqual({ state: defaultAppState(), error: null });
    expect(decodeAppState('#')).toEqual({ state: defaultAppState(), error: null });
    expect(defaultAppState().experiment.tasks.map((t) => t.name)).toEqual(['SYN-FIRST', 'SYN-CONTAINS', 'SYN-MATCH', 'SYN-COUNT']);
  });

  it('carries a results snapshot: uint8 importance (±1/510), correlation to 3 decimals, metrics to 4', () => {
    const s = { ...defaultAppState(), view: 'heads' as const, snapshot: snapshot() };
    const plain = encodeAppState(s);
    expect(decodeAppState(plain).state.snapshot).toBeNull(); // only "share results" adds it
    const back = decodeAppState(encodeAppState(s, { withSnapshot: true }));
    expect(back.error).toBeNull();
    const got = back.state.snapshot!;
    for (const task of s.snapshot.tasks) {
      s.snapshot.importance[task].forEach((row, l) =>
        row.forEach((x, h) => {
          expect(Math.abs(got.importance[task][l][h] - x)).toBeLessThanOrEqual(1 / 510 + 1e-12);
          expect(got.importance[task][l][h] * 255).toBeCloseTo(Math.round(x * 255), 9);
        }),
      );
    }
    expect(got.importance['SYN-FIRST'][0]).toEqual([0, 64 / 255, 128 / 255, 1]);
    expect(got.correlation).toEqual({
      method: 'kendall_tau_b',
      values: [
        [1, -0.235],
        [-0.235, 1],
      ],
    });
    expect(got.metrics).toEqual([
      { task: 'SYN-FIRST', metric: 'acc', value: 0.8125 },
      { task: 'SYN-MATCH', metric: 'f1', value: 0.6667 },
    ]);
    expect(got.glueScore).toBe(0.7396);
    expect(got.losses).toEqual([{ task: 'SYN-FIRST', steps: [1, 2, 3], values: [0.6931, 0.6, 0.5123] }]);
  });

  it('NaN correlations travel as null and the loss curve is thinned to 80 points with both ends', () => {
    const s = snapshot();
    s.correlation = {
      method: 'spearman',
      values: [
        [1, NaN],
        [NaN, 1],
      ],
    };
    s.step = 1000;
    s.losses = [{ task: 'SYN-MATCH', steps: Array.from({ length: 1000 }, (_, i) => i + 1), values: Array.from({ length: 1000 }, (_, i) => 1 / (i + 1)) }];
    const w = unpackSnapshot(JSON.parse(JSON.stringify(packSnapshot(s))));
    expect(w.correlation!.values).toEqual([
      [1, null],
      [null, 1],
    ]);
    expect(w.losses[0].steps).toHaveLength(80);
    expect(w.losses[0].steps[0]).toBe(1);
    expect(w.losses[0].steps[79]).toBe(1000);
  });

  const rejected = (hash: string) => {
    const r = decodeAppState(hash);
    expect(r.state).toEqual(defaultAppState());
    expect(r.error).toMatch(/^This link could not be opened: .*\. Showing the defaults instead\.$/s);
    return r.error!;
  };

  it('script tags stay inert strings where strings are allowed, and are rejected where names must be known', () => {
    const evil = '<script>alert(1)</script><img src=x onerror=alert(2)>';
    const ok = decodeAppState(hashOf({ experiment: { ...syntheticDemoExperiment(), name: evil } }));
    expect(ok.error).toBeNull();
    expect(ok.state.experiment.name).toBe(evil);
    expect(rejected(hashOf({ experiment: { ...syntheticDemoExperiment(), tasks: [{ name: evil }] } }))).toContain('tasks.0.name');
    expect(rejected(hashOf({ view: evil }))).toContain("the link's settings are invalid (view: unknown view)");
    expect(rejected(hashOf({ ui: { headsTask: evil } }))).toContain('ui.headsTask: unknown task');
  });

  it('NaN, Infinity and huge numbers are refused with the field named', () => {
    // JSON has no NaN/Infinity: JSON.stringify writes null, a hand-made link can write 1e999 (= Infinity).
    expect(rejected(hashOf({ experiment: { ...syntheticDemoExperiment(), batchSize: NaN } }))).toContain('batchSize: must be a number (it is empty or null)');
    expect(rejected(rawHash(`{"experiment": {"tasks": [{"name": "RTE"}], "optimizer": {"lr": 1e999}}}`))).toContain('optimizer.lr');
    expect(rejected(hashOf({ experiment: { ...syntheticDemoExperiment(), batchSize: 1e308 } }))).toContain('batchSize: must be at most 4096 (got 1e+308)');
    expect(rejected(hashOf({ experiment: { ...syntheticDemoExperiment(), seed: -1 } }))).toContain('seed: must be at least 0 (got -1)');
    expect(rejected(hashOf({ demo: { rowsPerTask: 1e12 } }))).toContain('demo.rowsPerTask');
    const snap = packSnapshot(snapshot());
    expect(rejected(hashOf({ snapshot: { ...snap, glueScore: 1e300 } }))).toContain('snapshot.glueScore');
    expect(rejected(hashOf({ snapshot: { ...snap, layers: 1e9 } }))).toContain('snapshot.layers');
  });

  it('wrong types and inconsistent shapes are refused', () => {
    expect(rejected(hashOf([1, 2, 3]))).toContain('the link holds no Taskscope state object');
    expect(rejected(hashOf({ view: 42 }))).toContain('view');
    expect(rejected(hashOf({ experiment: { tasks: 'RTE' } }))).toContain('tasks: must be a list (got "RTE")');
    expect(rejected(hashOf({ ui: { theme: ['dark'] } }))).toContain('ui.theme');
    const snap = packSnapshot(snapshot());
    expect(rejected(hashOf({ snapshot: { ...snap, layers: '2' } }))).toContain('snapshot.layers: must be a number (got "2")');
    expect(rejected(hashOf({ snapshot: { ...snap, heads: 3 } }))).toContain('snapshot.importance: 16 values for 2 tasks × 2 layers × 3 heads');
    expect(rejected(hashOf({ snapshot: { ...snap, correlation: { method: 'spearman', values: [[1]] } } }))).toContain(
      'snapshot.correlation: expected a 2×2 matrix',
    );
    expect(rejected(hashOf({ snapshot: { ...snap, metrics: [{ task: 'RTE', metric: 'acc', value: 0.5 }] } }))).toContain(
      "snapshot.metrics: RTE is not one of the snapshot's tasks",
    );
  });

  it('a 100 kB hash is refused before decoding, with a short message', () => {
    const msg = rejected(`#v1.${'x'.repeat(100 * 1024)}`);
    expect(msg).toBe(
      `This link could not be opened: the link's state is ${100 * 1024 + 3} characters long; the limit is ${MAX_HASH_CHARS}. Showing the defaults instead.`,
    );
  });

  it('a long hostile string in a number field gives a clipped message', () => {
    const msg = rejected(hashOf({ experiment: { ...syntheticDemoExperiment(), batchSize: 'A'.repeat(40_000) } }));
    expect(msg.length).toBeLessThan(400);
  });

  it('__proto__ keys in the JSON do not reach Object.prototype', () => {
    const r = decodeAppState(rawHash('{"__proto__": {"polluted": 1}, "ui": {"__proto__": {"polluted": 2}}, "view": "train"}'));
    expect(r.error).toBeNull();
    expect(r.state.view).toBe('train');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('synthetic tasks validate through the one schema and cannot be mixed with GLUE', () => {
    const exp = parseAppExperiment({ ...syntheticDemoExperiment(), siwlm: { enabled: true, centralTask: 'SYN-MATCH', centralWeight: 6 } });
    expect(exp.tasks.map((t) => t.name)).toEqual(['SYN-FIRST', 'SYN-CONTAINS', 'SYN-MATCH', 'SYN-COUNT']);
    expect(exp.siwlm.centralTask).toBe('SYN-MATCH');
    expect(() => parseAppExperiment({ ...syntheticDemoExperiment(), tasks: [{ name: 'SYN-FIRST' }, { name: 'RTE' }] })).toThrow(
      'tasks.1.name: "RTE" cannot be mixed with synthetic tasks',
    );
    expect(() => parseAppExperiment({ ...syntheticDemoExperiment(), data: { kind: 'hub' } })).toThrow(
      'data.kind: the synthetic tasks (SYN-FIRST, SYN-CONTAINS, SYN-MATCH, SYN-COUNT) need data.kind "synthetic"',
    );
    expect(() => parseAppExperiment({ ...syntheticDemoExperiment(), batchSize: 0 })).toThrow('batchSize: Invalid value: Expected >=1 but received 0');
    expect(() => parseAppExperiment({ ...syntheticDemoExperiment(), siwlm: { enabled: true, centralTask: 'RTE' } })).toThrow(
      'siwlm.centralTask: RTE is not one of the tasks (SYN-FIRST, SYN-CONTAINS, SYN-MATCH, SYN-COUNT)',
    );
  });
});

describe('share results and composer errors', () => {
  it("a live run's shown results go into a link and come back as the same views (quantized)", () => {
    const live: ShownResults = {
      source: 'live',
      runId: 'run-1',
      name: 'demo',
      step: 12,
      backend: 'wasm',
      layers: 2,
      heads: 4,
      tasks: ['SYN-FIRST', 'SYN-COUNT'],
      importance: { 'SYN-FIRST': snapshot().importance['SYN-FIRST'], 'SYN-COUNT': snapshot().importance['SYN-MATCH'] },
      importanceRaw: null,
      importanceStep: 12,
      correlation: {
        kendall_tau_b: {
          tasks: ['SYN-FIRST', 'SYN-COUNT'],
          values: [
            [1, 0.125],
            [0.125, 1],
          ],
        },
        spearman: {
          tasks: ['SYN-FIRST', 'SYN-COUNT'],
          values: [
            [1, 0.3],
            [0.3, 1],
          ],
        },
      },
      uncertainty: {},
      metrics: [{ task: 'SYN-COUNT', metric: 'pearson', value: -0.25 }],
      glueScore: 0.5,
      losses: [
        { step: 1, task: 'SYN-FIRST', loss: 0.7 },
        { step: 2, task: 'SYN-COUNT', loss: 3.5 },
        { step: 3, task: 'SYN-FIRST', loss: 0.65 },
      ],
    };
    const snap = toSnapshot(live, 'spearman');
    expect(snap.correlation).toEqual({
      method: 'spearman',
      values: [
        [1, 0.3],
        [0.3, 1],
      ],
    });
    const back = fromSnapshot(decodeAppState(encodeAppState({ ...defaultAppState(), snapshot: snap }, { withSnapshot: true })).state.snapshot!);
    expect(back.source).toBe('shared');
    expect(back.correlation).toEqual({
      spearman: {
        tasks: ['SYN-FIRST', 'SYN-COUNT'],
        values: [
          [1, 0.3],
          [0.3, 1],
        ],
      },
    });
    expect(back.losses).toEqual([
      { step: 1, task: 'SYN-FIRST', loss: 0.7 },
      { step: 3, task: 'SYN-FIRST', loss: 0.65 },
      { step: 2, task: 'SYN-COUNT', loss: 3.5 },
    ]);
    expect(back.importance!['SYN-COUNT'][0]).toEqual([1, 0, 153 / 255, 156 / 255]);
    expect(() => toSnapshot({ ...live, importance: null }, 'spearman')).toThrow('no head importance yet: train a few steps first');
  });

  it("parseExperiment's message splits into one error per field path", () => {
    let message = '';
    try {
      parseAppExperiment({ ...syntheticDemoExperiment(), batchSize: 0, optimizer: { lr: 5 } }, 'experiment');
    } catch (e) {
      message = (e as Error).message;
    }
    expect(fieldErrors(message, 'experiment')).toEqual({
      'optimizer.lr': 'must be at most 1 (got 5)',
      batchSize: 'must be at least 1 (got 0)',
    });
    expect(fieldErrors('experiment: tasks: RTE is listed twice', 'experiment')).toEqual({ tasks: 'RTE is listed twice' });
  });
});
