import { afterAll, beforeAll, expect, test } from 'vitest';
import type { Page } from 'playwright-core';
import type { BackendReport } from '../../workers/browserBackend.ts';
import { startBrowserHarness, type BrowserHarness } from './harness.ts';
import { openComputePage, type ComputePage } from './computePage.ts';

// Auto backend choice and wasm threads in a module worker (the app's setup), on this machine's Chromium,
// whose only WebGPU adapter is SwiftShader.

let h: BrowserHarness;
let page: Page;
let errors: string[];

let spawn: ComputePage['spawn'];
let call: ComputePage['call'];

beforeAll(async () => {
  h = await startBrowserHarness();
  ({ page, errors, spawn, call } = await openComputePage(h));
});

afterAll(async () => {
  await h?.close();
});

test('the dev server makes the page cross-origin isolated (COOP/COEP), so wasm may use threads', async () => {
  expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);
});

test('auto refuses the SwiftShader adapter without calibrating and runs wasm on every core, saying why', async () => {
  await spawn('auto');
  const r = await call<BackendReport>('auto', 'init', 'auto');
  const cores = await page.evaluate(() => Math.min(8, navigator.hardwareConcurrency));
  expect(r.name).toBe('wasm');
  expect(r.auto).toEqual({
    name: 'wasm',
    reason:
      'auto picked wasm: the WebGPU adapter (google / swiftshader) is the software renderer swiftshader (isFallbackAdapter), which runs on the CPU and is slower than wasm',
  });
  expect(r.fallbackReason).toBeUndefined();
  expect(r.wasm).toEqual({ threads: cores, crossOriginIsolated: true });
  expect(cores).toBeGreaterThan(1);
});

test('calibrated anyway, SwiftShader loses to wasm on the calibration step, and auto still picks wasm', async () => {
  await spawn('calibrated');
  const r = await call<BackendReport>('calibrated', 'init', 'auto', { calibrateSoftwareAdapter: true });
  console.log('calibration on SwiftShader vs wasm:', JSON.stringify(r.auto?.calibration));
  expect(r.name).toBe('wasm');
  const c = r.auto!.calibration!;
  expect(c.webgpuMs).toBeGreaterThan(c.wasmMs);
  expect(r.auto!.reason).toBe(
    `auto picked wasm: a calibration step took ${c.webgpuMs.toFixed(1)} ms on webgpu (google / swiftshader) and ${c.wasmMs.toFixed(1)} ms on wasm`,
  );
});

test('an explicit webgpu request still gets webgpu on SwiftShader (tests and users who ask for it)', async () => {
  await spawn('webgpu');
  const r = await call<BackendReport>('webgpu', 'init', ['webgpu']);
  expect(r.name).toBe('webgpu');
  expect(r.auto).toBeUndefined();
  expect(r.adapter?.architecture).toBe('swiftshader');
});

test('a 2-thread wasm worker computes the same forward pass as a 1-thread one (within 1e-5)', async () => {
  await spawn('t1');
  await spawn('t2');
  const one = await call<BackendReport>('t1', 'init', ['wasm'], { wasmThreads: 1 });
  const two = await call<BackendReport>('t2', 'init', ['wasm'], { wasmThreads: 2 });
  expect(one.wasm).toEqual({ threads: 1, crossOriginIsolated: true });
  expect(two.wasm).toEqual({ threads: 2, crossOriginIsolated: true });
  type Fwd = { last: Float32Array; tensorsBefore: number; tensorsAfter: number };
  const a = await call<Fwd>('t1', 'forward', 'bert-tiny-arch-random', 4, 128);
  const b = await call<Fwd>('t2', 'forward', 'bert-tiny-arch-random', 4, 128);
  expect(a.last.length).toBe(4 * 128 * 128);
  expect(b.last.length).toBe(a.last.length);
  let worst = 0;
  for (let i = 0; i < a.last.length; i++) worst = Math.max(worst, Math.abs(a.last[i]! - b.last[i]!));
  console.log(`1 vs 2 wasm threads, forward b4×s128: max |Δ| ${worst.toExponential(2)}`);
  expect(worst).toBeLessThan(1e-5);
  expect(b.tensorsAfter).toBe(b.tensorsBefore);
  expect(errors).toEqual([]);
});
