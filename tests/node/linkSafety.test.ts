import { describe, expect, it } from 'vitest';
import { parseExperiment } from '../../src/engine/experiment/experimentSchema.ts';
import { parseAppExperiment } from '../../src/urlState/appExperiment.ts';
import { decodeAppState, defaultAppState, encodeAppState, type AppState } from '../../src/urlState/appState.ts';
import { glueDemoExperiment, syntheticDemoExperiment } from '../../src/urlState/defaults.ts';
import { encodeHash } from '../../src/urlState/hashCodec.ts';
import { cleanName, fetchTargets, loadKnownHosts, saveKnownHosts, unknownHosts } from '../../src/urlState/linkSafety.ts';
import { packSnapshot, type ResultSnapshot } from '../../src/urlState/snapshot.ts';
import { rawHash, sampleSnapshot } from '../helpers/urlStateFixtures.ts';

const synthetic = JSON.stringify(syntheticDemoExperiment());
/** The synthetic demo's JSON with `extra` (raw JSON members) added at the top level. */
const withRaw = (extra: string) => rawHash(`{"experiment": ${synthetic.slice(0, -1)}, ${extra}}}`);

function refusal(hash: string): string {
  const r = decodeAppState(hash);
  expect(r.state).toEqual(defaultAppState());
  expect(r.error).not.toBeNull();
  return r.error!;
}

/** The sample results with one metric, so the overall score is that metric (a forged score must not survive). */
function snapshot(): ResultSnapshot {
  return { ...sampleSnapshot(), metrics: [{ task: 'SYN-FIRST', metric: 'acc', value: 0.9 }], glueScore: 0.9 };
}

describe('numbers in a link are finite and in range', () => {
  it('1e400 (Infinity) is refused naming the field: globalClip, SMART, maxGradNorm', () => {
    expect(refusal(withRaw('"globalClip": 1e400'))).toContain('globalClip: must be a finite number');
    expect(refusal(withRaw('"smart": {"enabled": true, "alpha": 1e400}'))).toContain('smart.alpha: must be a finite number');
    expect(refusal(withRaw('"smart": {"noiseVar": -1e400}'))).toContain('smart.noiseVar: must be a finite number');
    expect(refusal(withRaw('"optimizer": {"maxGradNorm": 1e400}'))).toContain('optimizer.maxGradNorm: must be a finite number');
    expect(refusal(withRaw('"globalClip": 1e300'))).toContain('globalClip: must be at most 1000000 (got 1e+300)');
    expect(refusal(rawHash('{"demo": {"rowsPerTask": 1e400}}'))).toContain('demo.rowsPerTask');
    expect(() => parseExperiment({ tasks: [{ name: 'RTE' }], smart: { stepSize: Infinity } })).toThrow('smart.stepSize: must be a finite number');
  });

  it('Copy link round-trips exactly: decode(encode(s)) equals s, and encoding again gives the same hash', () => {
    const states: AppState[] = [
      defaultAppState(),
      {
        ...defaultAppState(),
        view: 'experiment',
        experiment: parseAppExperiment({
          ...syntheticDemoExperiment(),
          globalClip: 1e6,
          smart: { enabled: true, alpha: 0.5, noiseVar: 1e-5, stepSize: 1e-3, epsilon: 1e-6, steps: 2 },
          optimizer: { kind: 'adamw', lr: 3e-4, maxGradNorm: 0.1 },
        }),
      },
      {
        ...defaultAppState(),
        view: 'train',
        experiment: parseAppExperiment(
          glueDemoExperiment({ mirror: 'https://mirror.example/hub', model: './mirror/fixtures/bert-tiny', tasks: ['MNLI', 'CoLA'], rowsPerTask: 100 }),
        ),
      },
      { ...defaultAppState(), view: 'heads', experiment: parseAppExperiment({ ...syntheticDemoExperiment(), name: 'ünïcødé ✓ ệ 名前' }), snapshot: null },
    ];
    for (const s of states) {
      const hash = encodeAppState(s);
      const back = decodeAppState(hash);
      expect(back.error).toBeNull();
      expect(back.state).toEqual(s);
      expect(encodeAppState(back.state)).toBe(hash);
    }
    // The page sets view options in any order (a click adds corrPair last): the hash does not depend on it.
    const d = defaultAppState();
    const shuffled = {
      ...d,
      ui: { theme: 'dark' as const, corrPair: ['SYN-MATCH', 'SYN-FIRST'] as [string, string], corrMethod: 'spearman' as const, headsScale: 'raw' as const },
    };
    const h1 = encodeAppState(shuffled);
    expect(encodeAppState(decodeAppState(h1).state)).toBe(h1);
    expect(encodeAppState({ ...shuffled, ui: decodeAppState(h1).state.ui })).toBe(h1);
    // Unrounded metrics and score, as a live run has them: the link must still read back to itself.
    const raw = {
      ...snapshot(),
      metrics: [
        { task: 'SYN-FIRST', metric: 'acc' as const, value: 0.812543 },
        { task: 'SYN-MATCH', metric: 'f1' as const, value: 0.6666666 },
      ],
      glueScore: 0.73960465,
    };
    const withResults = { ...defaultAppState(), view: 'results' as const, snapshot: raw };
    const hash = encodeAppState(withResults, { withSnapshot: true });
    const back = decodeAppState(hash);
    expect(back.error).toBeNull();
    expect(encodeAppState(back.state, { withSnapshot: true })).toBe(hash);
  });
});

describe('URL fields accept only http(s) and relative paths', () => {
  const hostile = [
    'javascript:alert(1)',
    'file:///etc/passwd',
    'data:text/html,x',
    '//169.254.169.254/latest',
    '\\\\evil.example/x',
    'http://169.254.169.254/latest/meta-data',
    'http://0xA9FEA9FE/',
    'http://[fe80::1]/',
  ];
  it.each(hostile)('%s is refused in the model URL, the data mirror, the GLUE URL and the demo settings', (url) => {
    const base = syntheticDemoExperiment();
    const glue = { ...base, tasks: [{ name: 'RTE' }] };
    const expectMessage = /must be an http\(s\) URL or a relative path|a link-local address \(169\.254\.x\.x\) is refused/;
    expect(refusal(encodeHash({ experiment: { ...glue, model: { kind: 'url', url } } }))).toMatch(new RegExp(`model\\.url: ${expectMessage.source}`));
    expect(refusal(encodeHash({ experiment: { ...glue, data: { kind: 'hub', mirror: url } } }))).toMatch(new RegExp(`data\\.mirror: ${expectMessage.source}`));
    expect(refusal(encodeHash({ experiment: { ...glue, data: { kind: 'glue-url', url } } }))).toMatch(new RegExp(`data\\.url: ${expectMessage.source}`));
    expect(refusal(encodeHash({ demo: { mirror: url } }))).toMatch(/demo\.mirror/);
    expect(refusal(encodeHash({ demo: { model: url } }))).toMatch(/demo\.model/);
  });

  it('https URLs, relative paths and Hub repos are accepted', () => {
    for (const url of ['https://huggingface.co', 'http://127.0.0.1:5173/mirror/hub', './mirror/glue', '../x/y', 'mirror/hub']) {
      const r = decodeAppState(
        encodeHash({ demo: { mirror: url }, experiment: { ...syntheticDemoExperiment(), tasks: [{ name: 'RTE' }], data: { kind: 'glue-url', url } } }),
      );
      expect(r.error).toBeNull();
      expect(r.state.demo.mirror).toBe(url);
    }
    expect(decodeAppState(encodeHash({ demo: { model: 'google/bert_uncased_L-2_H-128_A-2' } })).error).toBeNull();
  });

  it('a host the user has not used is listed (with its fields) before anything is fetched', () => {
    const exp = parseAppExperiment({
      ...glueDemoExperiment({ mirror: 'https://mirror.example:8443/hub', model: 'https://models.example/bert', tasks: ['RTE'], rowsPerTask: 8 }),
    });
    const targets = fetchTargets(exp, { mirror: 'https://mirror.example:8443/hub', model: 'google/bert' }, 'http://localhost:5173/app/');
    expect(targets).toEqual([
      { field: 'model URL', url: 'https://models.example/bert', host: 'models.example' },
      { field: 'data mirror', url: 'https://mirror.example:8443/hub', host: 'mirror.example:8443' },
      { field: 'demo mirror', url: 'https://mirror.example:8443/hub', host: 'mirror.example:8443' },
    ]);
    const known = loadKnownHosts(null, 'localhost:5173');
    expect(unknownHosts(targets, known)).toEqual([
      { host: 'models.example', fields: ['model URL'] },
      { host: 'mirror.example:8443', fields: ['data mirror', 'demo mirror'] },
    ]);
    const store = new Map<string, string>();
    const storage = { getItem: (k: string) => store.get(k) ?? null, setItem: (k: string, v: string) => void store.set(k, v) };
    saveKnownHosts(storage, new Set([...known, 'models.example']));
    expect(unknownHosts(targets, loadKnownHosts(storage, 'localhost:5173'))).toEqual([{ host: 'mirror.example:8443', fields: ['data mirror', 'demo mirror'] }]);
    // Relative paths stay on the page's own host, which is always known.
    const local = parseAppExperiment(glueDemoExperiment({ mirror: './mirror/hub', model: './mirror/bert', tasks: ['RTE'], rowsPerTask: 8 }));
    expect(unknownHosts(fetchTargets(local, { mirror: './mirror/hub', model: './m' }, 'http://localhost:5173/'), known)).toEqual([]);
  });
});

describe('names cannot flip or overdraw the page', () => {
  it('bidi controls and runs of combining marks are stripped; ordinary accents stay', () => {
    expect(cleanName('run \u202Egnp.exe')).toBe('run gnp.exe');
    expect(cleanName('a\u2066b\u2069c\u200Fd')).toBe('abcd');
    expect(cleanName(`Z${'\u0301'.repeat(150)}algo`)).toBe('Zalgo');
    expect(cleanName('e\u0323\u0302 café')).toBe('e\u0323\u0302 café');
    const r = decodeAppState(encodeHash({ experiment: { ...syntheticDemoExperiment(), name: `evil\u202Eeman${'\u0336'.repeat(150)}` } }));
    expect(r.error).toBeNull();
    expect(r.state.experiment.name).toBe('evileman');
  });

  it('a shared run name is cleaned the same way', () => {
    const r = decodeAppState(encodeAppState({ ...defaultAppState(), snapshot: { ...snapshot(), runName: 'x\u202Ey' } }, { withSnapshot: true }));
    expect(r.error).toBeNull();
    expect(r.state.snapshot!.runName).toBe('xy');
  });
});

describe('shared results are checked, not believed', () => {
  it('the overall score is recomputed from the metrics (a forged 50.00 over one 90.00 metric reads 90.00)', () => {
    const wire = { ...packSnapshot(snapshot()), glueScore: 0.5 };
    const r = decodeAppState(encodeHash({ experiment: syntheticDemoExperiment(), snapshot: wire }));
    expect(r.error).toBeNull();
    expect(r.state.snapshot!.glueScore).toBeCloseTo(0.9, 12);
    const mcc = {
      ...packSnapshot({
        ...snapshot(),
        metrics: [
          { task: 'SYN-FIRST', metric: 'acc', value: 0.8 },
          { task: 'SYN-FIRST', metric: 'mcc', value: 0.2 },
          { task: 'SYN-MATCH', metric: 'f1', value: 0.6 },
        ],
      }),
      glueScore: 1,
    };
    expect(decodeAppState(encodeHash({ snapshot: mcc })).state.snapshot!.glueScore).toBeCloseTo((0.2 + 0.6) / 2, 12);
  });

  it('loss steps out of order, a metric listed twice and a snapshot of another shape are refused', () => {
    const wire = packSnapshot(snapshot());
    expect(refusal(encodeHash({ snapshot: { ...wire, losses: [{ task: 'SYN-FIRST', steps: [1, 3, 2], values: [0.7, 0.6, 0.5] }] } }))).toContain(
      "snapshot.losses: SYN-FIRST's steps are not increasing (step 2 after 3)",
    );
    expect(refusal(encodeHash({ snapshot: { ...wire, metrics: [...wire.metrics, ...wire.metrics] } }))).toContain(
      'snapshot.metrics: SYN-FIRST/acc is listed twice',
    );
    const big = packSnapshot({
      ...snapshot(),
      layers: 48,
      heads: 64,
      importance: Object.fromEntries(['SYN-FIRST', 'SYN-MATCH'].map((t) => [t, Array.from({ length: 48 }, () => new Array(64).fill(0.5))])),
    });
    expect(refusal(encodeHash({ experiment: syntheticDemoExperiment(), snapshot: big }))).toContain(
      "the link's results do not fit its experiment (snapshot: its head maps are 48 layers × 64 heads but the link's experiment has 2 × 4)",
    );
    expect(
      refusal(encodeHash({ experiment: { ...syntheticDemoExperiment(), tasks: [{ name: 'SYN-COUNT' }, { name: 'SYN-MATCH' }] }, snapshot: wire })),
    ).toContain("snapshot.tasks: SYN-FIRST is not in the link's experiment (SYN-COUNT, SYN-MATCH)");
  });
});
