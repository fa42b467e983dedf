import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Page } from 'playwright-core';
import { FIXTURE_NAMES, loadFixture, type FixtureName } from '../helpers/shared.ts';
import { maxRelDiff } from '../helpers/compare.ts';
import type { HarnessApi, ImportanceRun } from '../harness/engine.ts';
import { startBrowserHarness, type BrowserHarness } from './harness.ts';

/*
 * Head importance (mask gradients and GradTS) on webgpu in Chromium against the float64 reference: the same
 * fields, tolerances and floors as tests/node/headImportance.test.ts (see the reasoning there), all as
 * maxRelDiff(ours, ref, floor) = max |Δ| / max(|ref|, floor):
 * losses 1e-5 with floor 1e-2·max|ref|; gradients and raw importances 1e-3 with floor 1e-3·max|ref|;
 * min-max-normalised matrices 1e-3 with floor 1 (absolute on the [0, 1] scale), their 0 and 1 on the same heads.
 */
const LOSS_TOL = 1e-5;
const TOL = 1e-3;

const LOSS_FIELDS = ['per_example_loss', 'loss_mean'] as const;
const GRAD_FIELDS = ['per_example_mask_grads', 'importance_raw', 'batch_mean_loss_mask_grad', 'gradts_raw_per_example'] as const;
const NORMALIZED_FIELDS = ['importance_normalized', 'gradts_instance_normalized', 'gradts_task_normalized'] as const;
const TASKS = ['classification', 'regression'] as const;

// On SwiftShader computeImportanceFixture takes ~30 s for random-tiny but ~180 s for bert-tiny-arch-random, so
// the larger fixture runs only on request (TASKSCOPE_WEBGPU_IMPORTANCE_ALL=1, e.g. on a machine with a real GPU).
const FIXTURES: FixtureName[] = process.env.TASKSCOPE_WEBGPU_IMPORTANCE_ALL === '1' ? [...FIXTURE_NAMES] : ['random-tiny'];

const flat = (a: unknown): number[] => (Array.isArray(a) ? a.flatMap(flat) : [a as number]);
const maxAbs = (a: unknown) => Math.max(...flat(a).map(Math.abs));
/** Row-major [L, A] matrices: the flat indices holding exactly 0 (min) and exactly 1 (max). */
const extremes = (m: number[][]) => ({ zeros: m.flat().flatMap((v, i) => (v === 0 ? [i] : [])), ones: m.flat().flatMap((v, i) => (v === 1 ? [i] : [])) });

let h: BrowserHarness;
let page: Page;
let errors: string[];

beforeAll(async () => {
  h = await startBrowserHarness();
  ({ page, errors } = await h.open('tests/harness/engine.html'));
  await page.waitForFunction(() => window.__taskscope !== undefined, undefined, { timeout: 120_000 });
  // webgpu only: a silent fallback to wasm would pass every numeric check below without testing webgpu.
  await call('backend', ['webgpu']);
});

afterAll(async () => {
  await h?.close();
});

/** Calls one harness function inside the page. */
function call<K extends keyof HarnessApi>(name: K, ...args: Parameters<HarnessApi[K]>): Promise<Awaited<ReturnType<HarnessApi[K]>>> {
  return page.evaluate(
    ([n, a]) => (window.__taskscope![n as K] as (...x: unknown[]) => unknown)(...(a as unknown[])),
    [name, args] as const,
  ) as Promise<Awaited<ReturnType<HarnessApi[K]>>>;
}

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
      const worst: Record<string, number> = {};
      for (const k of LOSS_FIELDS) worst[k] = maxRelDiff(ours[k], ref[k], 1e-2 * maxAbs(ref[k]));
      for (const k of GRAD_FIELDS) worst[k] = maxRelDiff(ours[k], ref[k], 1e-3 * maxAbs(ref[k]));
      for (const k of NORMALIZED_FIELDS) worst[k] = maxRelDiff(ours[k], ref[k], 1);
      console.log(`${name} webgpu ${task} worst relative error per field:\n` +
        Object.entries(worst).map(([k, v]) => `  ${k.padEnd(28)} ${v.toExponential(2)}`).join('\n'));
      for (const k of LOSS_FIELDS) expect(worst[k], k).toBeLessThan(LOSS_TOL);
      for (const k of [...GRAD_FIELDS, ...NORMALIZED_FIELDS]) expect(worst[k], k).toBeLessThan(TOL);
      const mats = (f: any) => [f.importance_normalized, f.gradts_task_normalized, ...f.gradts_instance_normalized] as number[][][];
      const refMats = mats(ref);
      mats(ours).forEach((m, i) => expect(extremes(m), `matrix ${i}`).toEqual(extremes(refMats[i]!)));
    });
  }

  test('GradTS τ-b (regression main, classification aux) equals the fixture within 1e-9 (no tie flipped)', () => {
    const got = run.result.gradts_correlation;
    const want = fx.minibatch.gradts_correlation;
    console.log(`${name} webgpu GradTS τ-b task ${got.task_level_kendall_tau_b} (ref ${want.task_level_kendall_tau_b}), ` +
      `instance max |Δ| ${maxAbs(got.instance_level_kendall_tau_b.map((v, i) => v - want.instance_level_kendall_tau_b[i]))}`);
    expect(got.task_level_kendall_tau_b).toBeCloseTo(want.task_level_kendall_tau_b, 9);
    expect(got.instance_level_kendall_tau_b).toHaveLength(want.instance_level_kendall_tau_b.length);
    got.instance_level_kendall_tau_b.forEach((v, i) => expect(v, `instance ${i}`).toBeCloseTo(want.instance_level_kendall_tau_b[i], 9));
  });
});

test('no page errors', () => {
  expect(errors).toEqual([]);
});
