import { afterAll, beforeAll, expect, test } from 'vitest';
import type { BackendReport } from '../../workers/browserBackend.ts';
import type { WebGPUCounts } from '../../workers/webgpuCounters.ts';
import { startBrowserHarness, type BrowserHarness } from './harness.ts';
import { openComputePage } from './computePage.ts';

// The fused webgpu LayerNorm and GELU kernels (workers/webgpuKernels.ts) against tfjs's generic
// compositions on the same backend (SwiftShader here), and the dispatches they save per train step.

let h: BrowserHarness;
let errors: string[];
/** Calls a method of the page's one worker, 'gpu'. */
let call: <T>(method: string, ...args: unknown[]) => Promise<T>;

beforeAll(async () => {
  h = await startBrowserHarness();
  const compute = await openComputePage(h);
  errors = compute.errors;
  call = (method, ...args) => compute.call('gpu', method, ...args);
  await compute.spawn('gpu');
  const r = await call<BackendReport>('init', ['webgpu']);
  expect(r.name).toBe('webgpu');
});

afterAll(async () => {
  await h?.close();
});

test('fused LayerNorm and GELU equal the generic path within 1e-5, values and gradients, without leaking tensors', async () => {
  const r = await call<{ diffs: Record<string, number>; tensorsBefore: number; tensorsAfter: number }>('fusedVsGeneric', 96, 128);
  console.log('fused vs generic max |Δ|:', JSON.stringify(r.diffs));
  expect(Object.keys(r.diffs).sort()).toEqual(['dbeta', 'dgamma', 'dgelu', 'dx', 'gelu', 'ln']);
  for (const [k, d] of Object.entries(r.diffs)) expect(d, k).toBeLessThan(1e-5);
  expect(r.tensorsAfter).toBe(r.tensorsBefore);
});

test('a train step needs fewer dispatches with the fused kernels; the encoder forward stays within 1e-5', async () => {
  const shape = { layers: 2, hidden: 128, heads: 2, intermediate: 512, batch: 2, seq: 16 };
  await call('setFused', false);
  const generic = await call<{ forward: WebGPUCounts; trainStep: WebGPUCounts }>('countWebGPU', 'bert-tiny-arch-random', shape);
  const genericOut = await call<{ last: Float32Array }>('forward', 'bert-tiny-arch-random', 2, 16);
  await call('setFused', true);
  const fused = await call<{ forward: WebGPUCounts; trainStep: WebGPUCounts }>('countWebGPU', 'bert-tiny-arch-random', shape);
  const fusedOut = await call<{ last: Float32Array; tensorsBefore: number; tensorsAfter: number }>('forward', 'bert-tiny-arch-random', 2, 16);
  console.log(
    `dispatches per forward: generic ${generic.forward.dispatches}, fused ${fused.forward.dispatches}; per train step: generic ${generic.trainStep.dispatches}, fused ${fused.trainStep.dispatches}; uploads per train step ${generic.trainStep.uploads} → ${fused.trainStep.uploads}`,
  );
  // 5 LayerNorms (embeddings + 2 per layer) and 2 GELUs in the forward pass, each now one dispatch.
  expect(fused.forward.byProgram.taskscope_layer_norm).toBe(5);
  expect(fused.forward.byProgram.taskscope_gelu).toBe(2);
  expect(generic.forward.byProgram.taskscope_layer_norm).toBeUndefined();
  expect(fused.trainStep.byProgram.taskscope_gelu_grad).toBe(2);
  expect(fused.forward.dispatches).toBeLessThan(generic.forward.dispatches);
  expect(fused.trainStep.dispatches).toBeLessThan(generic.trainStep.dispatches);
  let worst = 0;
  for (let i = 0; i < fusedOut.last.length; i++) worst = Math.max(worst, Math.abs(fusedOut.last[i]! - genericOut.last[i]!));
  expect(fusedOut.last.length).toBe(2 * 16 * 128);
  expect(worst).toBeLessThan(1e-5);
  expect(fusedOut.tensorsAfter).toBe(fusedOut.tensorsBefore);
  expect(errors).toEqual([]);
});
