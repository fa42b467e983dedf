import { describe, expect, it } from 'vitest';
import { parseAppExperiment } from '../../src/urlState/appExperiment.ts';
import { syntheticDemoExperiment } from '../../src/urlState/defaults.ts';
import { formatShare, parameterTable, SYNTHETIC_HEADS, type ParameterTable } from '../../src/ui/views/parameterTable.ts';
import { SYNTHETIC_SPECS } from '../../workers/trainer/syntheticData.ts';

/*
 * The Experiment view's table for the synthetic demo's shape (random L2 H64 I128 over the 45-token synthetic
 * vocabulary, four tasks), counted by hand:
 *   encoder: embeddings (45 + 512 + 2)·64 + 2·64 = 35,904; per layer 4·(64² + 64) + 2·64 + (64·128 + 128) + (128·64 + 64) + 2·64 = 33,472;
 *            pooler 64² + 64 = 4,160; total 35,904 + 2·33,472 + 4,160 = 107,008.
 *   heads: 2-class 64·2 + 2 = 130; regression 65.
 *   PALs (r 204, shared V^E/V^D): (64·204 + 204) + (204·64 + 64) + 2 layers · 3·(204² + 204) = 13,260 + 13,120 + 250,920 = 277,300 per task.
 */

const demo = () => parseAppExperiment(syntheticDemoExperiment());
const rows = (t: ParameterTable) => (t.status === 'ok' ? Object.fromEntries(t.rows.map((r) => [r.key, r.params])) : t);

describe('Experiment view parameter table', () => {
  it("the synthetic head shapes are the worker's: demo and planted tasks", () => {
    expect(Object.keys(SYNTHETIC_HEADS)).toEqual(Object.keys(SYNTHETIC_SPECS));
    expect(SYNTHETIC_HEADS['SYN-COUNT']).toEqual({ type: 'regression', numLabels: 1 });
    expect(SYNTHETIC_HEADS['PL-MARK-COUNT']).toEqual({ type: 'classification', numLabels: 2 });
  });

  it('MT-DNN on the synthetic demo: shared encoder 107,008, heads 130 / 65, total 107,463', () => {
    const t = parameterTable(demo());
    expect(rows(t)).toEqual({
      encoder: 107_008,
      'variant-shared': 0,
      'task-SYN-FIRST': 130,
      'task-SYN-CONTAINS': 130,
      'task-SYN-MATCH': 130,
      'task-SYN-COUNT': 65,
    });
    expect(t.status === 'ok' && t.total).toBe(107_008 + 3 * 130 + 65);
    expect(t.status === 'ok' && t.shape).toBe('random encoder: 2 layers, H 64, intermediate 128, 45 tokens (synthetic vocabulary)');
    expect(t.status === 'ok' && t.rows[2].detail).toBe('MT-DNN 0 + classification head 130');
  });

  it('switching the variant to PALs adds 277,300 to each task and nothing shared', () => {
    const exp = demo();
    const t = parameterTable({ ...exp, variant: { ...exp.variant, kind: 'pals' } });
    expect(rows(t)).toMatchObject({ encoder: 107_008, 'variant-shared': 0, 'task-SYN-FIRST': 277_300 + 130, 'task-SYN-COUNT': 277_300 + 65 });
    expect(t.status === 'ok' && t.total).toBe(107_463 + 4 * 277_300);
    expect(t.status === 'ok' && t.rows[5].detail).toBe('PALs 277,300 + regression head 65');
  });

  it('a loaded model is counted after loading; SAN on a regression task says why it cannot be built', () => {
    const hub = parseAppExperiment({ tasks: [{ name: 'RTE' }], model: { kind: 'hub', repo: 'google/bert_uncased_L-4_H-256_A-4' } });
    expect(parameterTable(hub)).toMatchObject({ status: 'unknown', message: expect.stringContaining('known after loading') });
    const san = parseAppExperiment({ tasks: [{ name: 'STS-B', head: 'san' }], model: { kind: 'random' } });
    expect(parameterTable(san)).toEqual({
      status: 'error',
      message: 'heads: STS-B is a regression task; the SAN answer module is for classification only (use head "linear")',
    });
  });

  it('formats shares without rounding a small part to zero', () => {
    expect(formatShare(65, 107_463)).toBe('<0.1 %');
    expect(formatShare(107_008, 107_463)).toBe('99.6 %');
    expect(formatShare(0, 10)).toBe('0.0 %');
  });
});
