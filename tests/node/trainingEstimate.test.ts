import { describe, expect, it } from 'vitest';
import { parseExperiment } from '../../src/engine/experiment/experimentSchema.ts';
import { parseAppExperiment } from '../../src/urlState/appExperiment.ts';
import { syntheticDemoExperiment } from '../../src/urlState/defaults.ts';
import { activationBytes, estimateTraining, formatBytes, trainRows, trainStepFlops } from '../../src/ui/state/trainingEstimate.ts';
import { parameterTable } from '../../src/ui/views/parameterTable.ts';

const tiny = { layers: 2, hidden: 64, heads: 4, intermediate: 128, vocab: 45 };

describe('training estimate before a run', () => {
  it('FLOPs and activation bytes match a hand computation for a 2-layer H=64 encoder', () => {
    // Per layer 2·B·T·(4H² + 2HI) + 4·B·T²·H with B=16, T=32: 2·512·(16384 + 16384) + 4·16·1024·64 = 33,554,432 + 4,194,304.
    // Two layers plus the pooler 2·B·H² = 131,072, times 3 for forward + backward.
    expect(trainStepFlops(tiny, 16, 32)).toBe(3 * (2 * (33_554_432 + 4_194_304) + 131_072));
    // 2 · L · T · B · H · (34 + 5·A·T/H) = 2 · 2 · 32 · 16 · 64 · (34 + 10) bytes.
    expect(activationBytes(tiny, 16, 32)).toBe(2 * 2 * 32 * 16 * 64 * 44);
  });

  it('the synthetic demo: 4 tasks × 256 rows in batches of 16 for 4 epochs is 256 batches, timed from a measured rate', () => {
    const exp = parseAppExperiment(syntheticDemoExperiment());
    expect(trainRows(exp, 256)).toEqual([256, 256, 256, 256]);
    const measured = { runName: 'synthetic demo', backend: 'wasm', shape: tiny, batch: 16, seq: 32, examplesPerSec: 160 };
    const e = estimateTraining(exp, tiny, 1000, { syntheticRows: 256, device: { backend: 'wasm' }, measured });
    expect(e.batchesPerEpoch).toBe(64);
    expect(e.batches).toBe(256);
    // The same shape at 160 examples/s is 10 batches/s: 256 batches take 25.6 s.
    expect(e.seconds).toBeCloseTo(25.6, 9);
    expect(e.stateBytes).toBe(16_000);
    expect(e.warnings).toEqual([]);
    expect(estimateTraining(exp, tiny, 1000, { syntheticRows: 256, device: { backend: 'wasm' }, measured: null }).seconds).toBeNull();
  });

  it('GLUE rows come from the train split, cut by trainFraction and maxTrainRows', () => {
    const exp = parseExperiment({ tasks: [{ name: 'RTE' }, { name: 'MRPC', trainFraction: 0.5 }, { name: 'SST-2', maxTrainRows: 1000 }] });
    expect(trainRows(exp, 0)).toEqual([2490, 1834, 1000]);
  });

  it('a 9.7-billion-parameter model with batch 4096 × 512 tokens × 1000 epochs is warned on every backend', () => {
    const exp = parseExperiment({
      tasks: [{ name: 'RTE' }],
      model: { kind: 'random', layers: 48, hidden: 4096, heads: 64, intermediate: 16384 },
      batchSize: 4096,
      maxLength: 512,
      epochs: 1000,
    });
    const table = parameterTable(exp);
    if (table.status !== 'ok') throw new Error(table.status);
    expect(table.total).toBeGreaterThan(9.7e9);
    expect(table.total).toBeLessThan(9.9e9);
    const shape = { layers: 48, hidden: 4096, heads: 64, intermediate: 16384, vocab: 30522 };
    const measured = { runName: 'demo', backend: 'wasm', shape: tiny, batch: 16, seq: 32, examplesPerSec: 100 };
    const wasm = estimateTraining(exp, shape, table.total, { syntheticRows: 0, device: { backend: 'wasm', deviceMemoryGiB: 8 }, measured });
    expect(wasm.totalBytes).toBeGreaterThan(1024 ** 4);
    expect(wasm.warnings[0]).toBe(`needs about ${formatBytes(wasm.totalBytes)}; the wasm backend can address 4 GiB`);
    expect(wasm.warnings[1]).toBe(`needs about ${formatBytes(wasm.totalBytes)}; this device reports 8 GiB of memory`);
    expect(wasm.warnings[2]).toMatch(/^would take about [\d,]+ years at the measured rate$/);
    const gpu = estimateTraining(exp, shape, table.total, {
      syntheticRows: 0,
      device: { backend: 'webgpu', maxBufferSize: 2 ** 30, maxStorageBufferBindingSize: 2 ** 27 },
      measured: null,
    });
    // The attention scores: 4096 · 64 · 512² float32 = 256 GiB in one buffer.
    expect(gpu.largestTensorBytes).toBe(4 * 4096 * 64 * 512 * 512);
    expect(gpu.warnings).toEqual(['its largest tensor is 256.0 GiB; this GPU binds at most 128.0 MiB per buffer']);
  });
});
