import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fixtureModelDir, loadFixture, sharedDir } from '../helpers/shared.ts';
import { loadBertCheckpoint, saveBertCheckpoint } from '../../src/engine/checkpoint/hfFolder.ts';
import { dirSource, writeFolder } from '../../src/engine/platform/node/nodeSource.ts';
import type { BertCheckpoint } from '../../src/engine/checkpoint/types.ts';

/**
 * Export → independent loader: the folder saveBertCheckpoint writes is read by refbert (numpy, its own
 * safetensors reader, HF names) and run through the float64 reference forward pass; the pooled output must
 * match the fixture that refbert made from the original checkpoint.
 */

const refbertDir = resolve(sharedDir, 'tools/refbert');
const refbert = resolve(refbertDir, 'refbert.py');
const fx = loadFixture('random-tiny');
const example = fx.examples[0];

/** `refbert.py forward` as a CLI: prints `pooled[:8]: [...]` at 6 decimals. */
function refbertCli(dir: string): number[] {
  const out = execFileSync('python3', [refbert, 'forward', '--model', dir, example.text_a, example.text_b], { encoding: 'utf8' });
  const line = out.split('\n').find((l) => l.startsWith('pooled[:8]:'));
  if (!line) throw new Error(`refbert forward printed no pooled line:\n${out}`);
  return line
    .replace(/^pooled\[:8\]:\s*\[/, '')
    .replace(/\]\s*$/, '')
    .trim()
    .split(/\s+/)
    .map(Number);
}

/**
 * The same steps as `refbert.py forward` (load_checkpoint, tokenizer_from_dir, forward), at full precision.
 * With `roundWeights: 'F16'`, numpy rounds every weight to float16 first (astype, round-to-nearest-even).
 */
function refbertPooled(dir: string, roundWeights: 'none' | 'F16' = 'none'): { tokens: string[]; pooled: number[] } {
  const script = `
import json, sys
import numpy as np
sys.path.insert(0, ${JSON.stringify(refbertDir)})
import refbert
d, rounding, a, b, n = sys.argv[1:6]
cfg, P = refbert.load_checkpoint(d)
if rounding == "F16":
    half = lambda x: None if x is None else np.asarray(x, np.float32).astype(np.float16).astype(np.float64)
    P = {k: ([{kk: half(vv) for kk, vv in layer.items()} for layer in v] if k == "layers" else half(v)) for k, v in P.items()}
enc = refbert.tokenizer_from_dir(d).encode(a, b, max_seq_len=int(n))
out = refbert.forward(P, cfg, [enc["input_ids"]], [enc["token_type_ids"]], [enc["attention_mask"]])
print(json.dumps({"tokens": enc["tokens"], "pooled": out["pooled"][0].tolist()}))
`;
  const args = ['-c', script, dir, roundWeights, example.text_a, example.text_b, String(fx.max_seq_len)];
  return JSON.parse(execFileSync('python3', args, { encoding: 'utf8' }));
}

const maxAbsDiff = (a: number[], b: number[]) => {
  expect(a.length).toBe(b.length);
  return Math.max(...a.map((x, i) => Math.abs(x - b[i])));
};

describe('exported folders load in refbert and reproduce the fixture', () => {
  let ckpt: BertCheckpoint;
  let tmp: string;
  beforeAll(async () => {
    ckpt = await loadBertCheckpoint(dirSource(fixtureModelDir('random-tiny')));
    tmp = mkdtempSync(join(tmpdir(), 'taskscope-export-'));
  });
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  async function exportAs(dtype: 'F32' | 'F16' | 'BF16'): Promise<string> {
    const dir = join(tmp, dtype);
    await writeFolder(dir, saveBertCheckpoint(ckpt, { dtype }));
    return dir;
  }

  it('F32: pooled output equal to the fixture within 1e-6 (same float32 weights)', async () => {
    const dir = await exportAs('F32');
    const { tokens, pooled } = refbertPooled(dir);
    expect(tokens).toEqual(example.tokens);
    expect(maxAbsDiff(pooled, example.pooled)).toBeLessThanOrEqual(1e-6);
    // The CLI itself, as a user would run it: 6 printed decimals, so half a unit of the last place.
    expect(maxAbsDiff(refbertCli(dir), example.pooled.slice(0, 8))).toBeLessThanOrEqual(5e-7 + 1e-6);
  });

  it('F16: identical to refbert on the original weights rounded to float16 by numpy', async () => {
    const exported = refbertPooled(await exportAs('F16'));
    const numpyRounded = refbertPooled(fixtureModelDir('random-tiny'), 'F16');
    expect(maxAbsDiff(exported.pooled, numpyRounded.pooled)).toBe(0);
  });

  // Rounding the weights to half precision (relative error <= 2^-11 ≈ 4.9e-4 per weight) moves this 2-layer
  // model's tanh-pooled output by 1.43e-3 at most (measured: 0.0014264444653566688). The bound has ~2x headroom;
  // a byte-order, transposition or naming error moves pooled values by O(0.1..1).
  const F16_TOL = 3e-3;
  it(`F16: pooled output within ${F16_TOL} of the fixture`, async () => {
    const { pooled } = refbertPooled(await exportAs('F16'));
    const diff = maxAbsDiff(pooled, example.pooled);
    expect(diff).toBeGreaterThan(1e-4);
    expect(diff).toBeLessThanOrEqual(F16_TOL);
  });

  // bfloat16 keeps 8 significand bits (relative error <= 2^-9 ≈ 2e-3): measured max |Δ| 0.011626858856992328.
  // That RNE is used (not truncation) is checked bit by bit in halfFloat.test.ts.
  const BF16_TOL = 2.5e-2;
  it(`BF16: pooled output within ${BF16_TOL} of the fixture`, async () => {
    const { pooled } = refbertPooled(await exportAs('BF16'));
    const diff = maxAbsDiff(pooled, example.pooled);
    expect(diff).toBeGreaterThan(1e-3);
    expect(diff).toBeLessThanOrEqual(BF16_TOL);
  });
});
