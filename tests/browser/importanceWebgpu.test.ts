import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Page } from 'playwright-core';
import { FIXTURE_NAMES, loadFixture, type FixtureName } from '../helpers/shared.ts';
import {
  GRAD_FIELDS,
  LOSS_FIELDS,
  LOSS_TOL,
  NORMALIZED_FIELDS,
  TASKS,
  TOL,
  extremes,
  importanceFieldErrors,
  maxAbs,
  normalizedMatrices,
} from '../helpers/importanceFixtureCompare.ts';
import type { HarnessApi, ImportanceRun } from '../harness/engine.ts';
import { pageApi, startBrowserHarness, type BrowserHarness } from './harness.ts';

// Head importance (mask gradients and GradTS) on webgpu in Chromium against the float64 reference, compared
// exactly as the Node test does it (tests/helpers/importanceFixtureCompare.ts says why each tolerance).
// On SwiftShader computeImportanceFixture takes ~30 s for random-tiny but ~180 s for bert-tiny-arch-random, so
// the larger fixture runs only on request (TASKSCOPE_WEBGPU_IMPORTANCE_ALL=1, e.g. on a machine with a real GPU).
const FIXTURES: FixtureName[] = process.env.TASKSCOPE_WEBGPU_IMPORTANCE_ALL === '1' ? [...FIXTURE_NAMES] : ['random-tiny'];

let h: BrowserHarness;
let page: Page;
let errors: string[];
let call: ReturnType<typeof pageApi<HarnessApi>>;

beforeAll(async () => {
  h = await startBrowserHarness();
  ({ page, errors } = await h.open('tests/harness/engine.html'));
  call = pageApi<HarnessApi>(page, '__taskscope');
  await page.waitForFunction(() => window.__taskscope !== undefined, undefined, { timeout: 120_000 });
  // webgpu only: a silent fallback to wasm would pass every numeric check below without testing webgpu.
  await call('backend', ['webgpu']);
});

afterAll(async () => {
  await h?.close();
});

test('the page runs tfjs on the webgpu backend', async () => {
  const report = await call('backendInfo');
  expect(report.fallbackReason).toBeUndefined();
  expect(report.name).toBe('webgpu');
  expect(await call('activeBackend')).toBe('webgpu');
});

describe.each(FIXTURES.map((n) => [n] as [FixtureName]))('head importance vs float64 reference: %s on webgpu', (name) => {
  const fx = loadFixture(name);
  let run: ImportanceRun;
  beforeAll(async () => {
    run = await call('importanceFixture', name);
  }, 600_000);

  test('ran on webgpu and left tf.memory().numTensors as it found it', () => {
    console.log(`${name} webgpu computeImportanceFixture: ${(run.ms / 1000).toFixed(1)} s`);
    expect(run.backend).toBe('webgpu');
    expect(run.tensorsAfter).toBe(run.tensorsBefore);
  });

  for (const task of TASKS) {
    test(`${task}: every field within tolerance (losses ${LOSS_TOL}, the rest ${TOL} relative to scale)`, () => {
      const ours = run.result[task];
      const ref = fx.minibatch[task];
      expect(ours.per_example_loss).toHaveLength(fx.minibatch.example_ids.length);
      const worst = importanceFieldErrors(ours, ref);
      console.log(
        `${name} webgpu ${task} worst relative error per field:\n` +
          Object.entries(worst)
            .map(([k, v]) => `  ${k.padEnd(28)} ${v.toExponential(2)}`)
            .join('\n'),
      );
      for (const k of LOSS_FIELDS) expect(worst[k], k).toBeLessThan(LOSS_TOL);
      for (const k of [...GRAD_FIELDS, ...NORMALIZED_FIELDS]) expect(worst[k], k).toBeLessThan(TOL);
      const refMats = normalizedMatrices(ref);
      normalizedMatrices(ours).forEach((m, i) => expect(extremes(m), `matrix ${i}`).toEqual(extremes(refMats[i]!)));
    });
  }

  test('GradTS τ-b (regression main, classification aux) equals the fixture within 1e-9 (no tie flipped)', () => {
    const got = run.result.gradts_correlation;
    const want = fx.minibatch.gradts_correlation;
    console.log(
      `${name} webgpu GradTS τ-b task ${got.task_level_kendall_tau_b} (ref ${want.task_level_kendall_tau_b}), ` +
        `instance max |Δ| ${maxAbs(got.instance_level_kendall_tau_b.map((v, i) => v - want.instance_level_kendall_tau_b[i]))}`,
    );
    expect(got.task_level_kendall_tau_b).toBeCloseTo(want.task_level_kendall_tau_b, 9);
    expect(got.instance_level_kendall_tau_b).toHaveLength(want.instance_level_kendall_tau_b.length);
    got.instance_level_kendall_tau_b.forEach((v, i) => expect(v, `instance ${i}`).toBeCloseTo(want.instance_level_kendall_tau_b[i], 9));
  });
});

test('no page errors', () => {
  expect(errors).toEqual([]);
});
