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

test('the fused attention softmax (scale, mask, softmax) equals the generic path within 1e-5 relative, values and gradients', async () => {
  const r = await call<{ diffs: Record<string, number>; relative: Record<string, number>; tensorsBefore: number; tensorsAfter: number }>(
    'attentionVsGeneric',
    2,
    2,
    24,
    16,
  );
  console.log('attention fused vs generic max |Δ|:', JSON.stringify(r.diffs), 'relative:', JSON.stringify(r.relative));
  expect(Object.keys(r.relative).sort()).toEqual(['dbias', 'dk', 'dq', 'probs']);
  for (const [k, d] of Object.entries(r.relative)) expect(d, k).toBeLessThan(1e-5);
  expect(r.tensorsAfter).toBe(r.tensorsBefore);
});

test('the fused dropout draws the same mask as tf.dropout and scales alike, forward and gradient', async () => {
  const r = await call<{ diffs: Record<string, number>; zeroed: number; tensorsBefore: number; tensorsAfter: number }>('dropoutVsGeneric', [4, 16, 128]);
  console.log('dropout fused vs generic max |Δ|:', JSON.stringify(r.diffs), 'zeroed fraction', r.zeroed);
  expect(r.diffs).toEqual({ y: 0, dx: 0 });
  // 8192 draws at rate 0.1: the zeroed fraction is 0.1 within 4 standard deviations (0.0133).
  expect(Math.abs(r.zeroed - 0.1)).toBeLessThan(0.0133);
  expect(r.tensorsAfter).toBe(r.tensorsBefore);
});

test('the fused Adam and AdamW step equals the generic update within 1e-5 relative: parameters and both moments over 3 steps', async () => {
  for (const kind of ['adam', 'adamw'] as const) {
    const r = await call<{ relative: Record<string, number>; tensorsBefore: number; tensorsAfter: number }>('adamVsGeneric', kind);
    console.log(`${kind} fused vs generic, |Δ| / max|generic|:`, JSON.stringify(r.relative));
    expect(Object.keys(r.relative).sort()).toEqual([
      'bias',
      'layer.bias:exp_avg',
      'layer.bias:exp_avg_sq',
      'layer.weight:exp_avg',
      'layer.weight:exp_avg_sq',
      'weight',
    ]);
    for (const [k, d] of Object.entries(r.relative)) expect(d, `${kind} ${k}`).toBeLessThan(1e-5);
    expect(r.tensorsAfter).toBe(r.tensorsBefore);
  }
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
    `uploads per train step by shape: fused ${JSON.stringify(fused.trainStep.uploadsByShape)}, generic ${JSON.stringify(generic.trainStep.uploadsByShape)}`,
  );
  console.log(
    `dispatches per forward: generic ${generic.forward.dispatches}, fused ${fused.forward.dispatches}; per train step: generic ${generic.trainStep.dispatches}, fused ${fused.trainStep.dispatches}; uploads per train step ${generic.trainStep.uploads} → ${fused.trainStep.uploads}`,
  );
  // 5 LayerNorms (embeddings + 2 per layer) and 2 GELUs in the forward pass, each now one dispatch.
  expect(fused.forward.byProgram.taskscope_layer_norm).toBe(5);
  expect(fused.forward.byProgram.taskscope_gelu).toBe(2);
  expect(generic.forward.byProgram.taskscope_layer_norm).toBeUndefined();
  expect(fused.trainStep.byProgram.taskscope_gelu_grad).toBe(2);
  // One attention softmax per layer each way, in place of a Div, an Add and a Softmax forward.
  expect(fused.forward.byProgram.taskscope_attention_softmax).toBe(2);
  expect(fused.trainStep.byProgram.taskscope_attention_softmax_grad).toBe(2);
  expect(fused.forward.byProgram.SoftmaxProgram).toBeUndefined();
  expect(generic.forward.byProgram.SoftmaxProgram).toBe(2);
  // 8 dropouts (embeddings, 3 per layer, the head) each one dispatch forward and one backward; dγ's x̂ of 5 LayerNorms.
  expect(fused.trainStep.byProgram.taskscope_dropout).toBe(16);
  expect(fused.trainStep.byProgram.taskscope_layer_norm_xhat).toBe(5);
  // The optimiser: one Adam kernel per parameter (3 dispatches: m′, v′, θ′), the encoder's and head's 41 parameters.
  expect(fused.trainStep.byProgram.taskscope_adam_thetaNew).toBe(41);
  expect(fused.trainStep.byProgram.taskscope_adam_mNew).toBe(41);
  // What a step still uploads: 8 dropout masks (drawn on the CPU, as tf.dropout draws them on every backend),
  // the batch (ids, token types, positions, attention bias, labels and two [B]/[B, 2] loss inputs) and 5
  // scalars: 3 of global clipping and 2 of the loss (the optimiser's are uniforms of its kernel).
  expect(fused.trainStep.uploadsByShape['float32[]']).toBe(5);
  expect(fused.trainStep.uploads).toBe(20);
  expect(fused.forward.dispatches).toBeLessThan(generic.forward.dispatches);
  expect(fused.trainStep.dispatches).toBeLessThan(generic.trainStep.dispatches);
  let worst = 0;
  for (let i = 0; i < fusedOut.last.length; i++) worst = Math.max(worst, Math.abs(fusedOut.last[i]! - genericOut.last[i]!));
  expect(fusedOut.last.length).toBe(2 * 16 * 128);
  expect(worst).toBeLessThan(1e-5);
  expect(fusedOut.tensorsAfter).toBe(fusedOut.tensorsBefore);
  expect(errors).toEqual([]);
});
