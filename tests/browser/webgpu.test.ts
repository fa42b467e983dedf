import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Page } from 'playwright-core';
import { FIXTURE_NAMES, loadFixture, type FixtureName } from '../helpers/shared.ts';
import type { ForwardResult, HarnessApi } from '../harness/engine.ts';
import { maxAbsDiff } from '../helpers/compare.ts';
import { pageApi, startBrowserHarness, type BrowserHarness } from './harness.ts';

// float32 on WebGPU against the float64 reference (hidden states/attentions stored to 7 significant digits).
const TOL = 1e-4;
// SwiftShader is what Chromium offers on this GPU-less machine; set this on a machine with a real GPU.
const EXPECTED_ADAPTER = process.env.TASKSCOPE_EXPECT_ADAPTER ?? 'swiftshader';

let h: BrowserHarness;
let page: Page;
let errors: string[];
let call: ReturnType<typeof pageApi<HarnessApi>>;

beforeAll(async () => {
  h = await startBrowserHarness();
  ({ page, errors } = await h.open('tests/harness/engine.html'));
  call = pageApi<HarnessApi>(page, '__taskscope');
  await page.waitForFunction(() => window.__taskscope !== undefined, undefined, { timeout: 120_000 });
});

afterAll(async () => {
  await h?.close();
});

test('the page runs tfjs on the webgpu backend', async () => {
  const report = await call('backend', ['webgpu']);
  expect(report.fallbackReason).toBeUndefined();
  expect(await call('activeBackend')).toBe('webgpu');
  expect(report.name).toBe('webgpu');
  expect(report.adapter?.architecture).toBe(EXPECTED_ADAPTER);
  expect(report.adapter?.limits.maxStorageBufferBindingSize).toBeGreaterThan(0);
  expect(report.memory.numTensors).toBeGreaterThanOrEqual(0);
});

describe.each(FIXTURE_NAMES.map((n) => [n] as [FixtureName]))('fixture %s on webgpu', (name) => {
  const fx = loadFixture(name);
  const examples: any[] = fx.examples;
  const L: number = fx.config.num_hidden_layers;

  test('WordPiece tokens and ids equal the reference', async () => {
    const encs = await call(
      'tokenize',
      name,
      examples.map((e) => ({ a: e.text_a, b: e.text_b })),
      fx.max_seq_len,
    );
    expect(encs).toHaveLength(examples.length);
    encs.forEach((enc, i) => {
      const e = examples[i];
      expect({ id: e.id, tokens: enc.tokens, ids: enc.inputIds, types: enc.tokenTypeIds, mask: enc.attentionMask }).toEqual({
        id: e.id,
        tokens: e.tokens,
        ids: e.input_ids,
        types: e.token_type_ids,
        mask: e.attention_mask,
      });
    });
  });

  test(`hidden states, attentions, pooled output and head logits are within ${TOL} of float64`, async () => {
    const withTensors = examples.filter((e) => e.hidden_states && e.attentions);
    expect(withTensors.length).toBe(fx.examples_with_full_tensors);
    const r: ForwardResult = await call(
      'forward',
      name,
      {
        inputIds: withTensors.map((e) => e.input_ids),
        tokenTypeIds: withTensors.map((e) => e.token_type_ids),
        attentionMask: withTensors.map((e) => e.attention_mask),
      },
      { classification: fx.classification_head, regression: fx.regression_head },
    );
    expect(r.backend).toBe('webgpu');
    expect(r.hiddenStates).toHaveLength(L + 1);
    expect(r.attentions).toHaveLength(L);
    const worst = { hidden: 0, attention: 0, pooled: 0, logits: 0, regression: 0 };
    withTensors.forEach((e, i) => {
      worst.hidden = Math.max(
        worst.hidden,
        maxAbsDiff(
          r.hiddenStates.map((l) => l[i]!),
          e.hidden_states,
        ),
      );
      worst.attention = Math.max(
        worst.attention,
        maxAbsDiff(
          r.attentions.map((l) => l[i]!),
          e.attentions,
        ),
      );
      worst.pooled = Math.max(worst.pooled, maxAbsDiff(r.pooled[i]!, e.pooled));
      worst.logits = Math.max(worst.logits, maxAbsDiff(r.classificationLogits[i]!, e.classification_logits));
      worst.regression = Math.max(worst.regression, maxAbsDiff(r.regression[i]!, [e.regression_output]));
    });
    console.log(`${name} webgpu max |Δ| vs float64:`, JSON.stringify(worst));
    for (const [what, d] of Object.entries(worst)) expect(d, what).toBeLessThan(TOL);
    expect(r.tensorsAfter, 'tensors leaked by one forward pass').toBe(r.tensorsBefore);
  });

  test('encodeTexts returns real-token rows that match the reference', async () => {
    const e = examples.find((x) => x.id === 'plain');
    const [row] = await call('encodeTexts', name, [{ a: e.text_a, b: e.text_b }], fx.max_seq_len);
    const n: number = e.n_tokens;
    expect(row!.tokens).toEqual(e.tokens);
    expect(row!.last_hidden_state).toHaveLength(n);
    expect(maxAbsDiff(row!.last_hidden_state, e.hidden_states[L].slice(0, n))).toBeLessThan(TOL);
    expect(maxAbsDiff(row!.pooled, e.pooled)).toBeLessThan(TOL);
    const refAttn = (e.attentions as number[][][][]).map((l) => l.map((hd) => hd.slice(0, n).map((q) => q.slice(0, n))));
    expect(maxAbsDiff(row!.attentions!, refAttn)).toBeLessThan(TOL);
  });
});

test('the model worker survives a lost GPU device by rebuilding on wasm', async () => {
  const fx = loadFixture('random-tiny');
  const e = fx.examples.find((x: any) => x.id === 'plain');
  const r = await call('workerDeviceLossDrill', 'random-tiny', { a: e.text_a, b: e.text_b }, fx.max_seq_len);
  expect(r.summary.backend.name).toBe('webgpu');
  expect(r.lost).toBe(true);
  expect(maxAbsDiff(r.before.pooled, e.pooled)).toBeLessThan(TOL);
  expect(r.backendAfter.name).toBe('wasm');
  expect(r.backendAfter.fallbackReason).toMatch(/^WebGPU device lost \(destroyed\): .+; switched to wasm$/);
  expect(maxAbsDiff(r.after.pooled, e.pooled)).toBeLessThan(TOL);
});

test('no page errors', () => {
  expect(errors).toEqual([]);
});
