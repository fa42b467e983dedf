import { describe, expect, test } from 'vitest';
import { chooseAutoBackend, softwareAdapterReason, type AdapterFacts } from '../../src/engine/runtime/autoBackend.ts';

// Adapter infos as Chromium reports them (GPUAdapterInfo): SwiftShader on this machine, Mesa's software
// rasterisers, a fallback adapter, and two hardware GPUs.
const swiftshader: AdapterFacts = { vendor: 'google', architecture: 'swiftshader', device: '', description: '', isFallbackAdapter: false };
const llvmpipe: AdapterFacts = { vendor: 'mesa', architecture: '', device: '', description: 'llvmpipe (LLVM 15.0.6, 256 bits)', isFallbackAdapter: false };
const lavapipe: AdapterFacts = { vendor: 'mesa', architecture: '', device: 'lavapipe', description: '', isFallbackAdapter: false };
const fallback: AdapterFacts = { vendor: 'someone', architecture: 'something', device: '', description: '', isFallbackAdapter: true };
const nvidia: AdapterFacts = { vendor: 'nvidia', architecture: 'ampere', device: '', description: 'NVIDIA GeForce RTX 3060', isFallbackAdapter: false };
const intel: AdapterFacts = { vendor: 'intel', architecture: 'gen-12lp', device: '', description: '', isFallbackAdapter: false };

describe('softwareAdapterReason', () => {
  test('names the software renderer or the fallback flag', () => {
    expect(softwareAdapterReason(swiftshader)).toBe('the WebGPU adapter (google / swiftshader) is the software renderer swiftshader');
    expect(softwareAdapterReason(llvmpipe)).toBe('the WebGPU adapter (mesa / llvmpipe (LLVM 15.0.6, 256 bits)) is the software renderer llvmpipe');
    expect(softwareAdapterReason(lavapipe)).toBe('the WebGPU adapter (mesa / lavapipe) is the software renderer lavapipe');
    expect(softwareAdapterReason(fallback)).toBe('the WebGPU adapter (someone / something) is a fallback adapter (isFallbackAdapter)');
    // Chromium flags SwiftShader both ways.
    expect(softwareAdapterReason({ ...swiftshader, isFallbackAdapter: true })).toBe(
      'the WebGPU adapter (google / swiftshader) is the software renderer swiftshader (isFallbackAdapter)',
    );
  });

  test('a hardware adapter is not software', () => {
    expect(softwareAdapterReason(nvidia)).toBeUndefined();
    expect(softwareAdapterReason(intel)).toBeUndefined();
  });
});

describe('chooseAutoBackend', () => {
  test('a software adapter gets wasm without calibration, even if a calibration says webgpu is faster', () => {
    expect(chooseAutoBackend({ kind: 'adapter', adapter: swiftshader })).toEqual({
      name: 'wasm',
      reason: 'auto picked wasm: the WebGPU adapter (google / swiftshader) is the software renderer swiftshader, which runs on the CPU and is slower than wasm',
    });
    expect(chooseAutoBackend({ kind: 'adapter', adapter: fallback, calibration: { webgpuMs: 1, wasmMs: 100 } }).name).toBe('wasm');
  });

  test('no WebGPU at all gets wasm with the reason given', () => {
    expect(chooseAutoBackend({ kind: 'no-webgpu', why: 'navigator.gpu is missing' })).toEqual({
      name: 'wasm',
      reason: 'auto picked wasm: navigator.gpu is missing',
    });
  });

  test('a hardware adapter is decided by the calibration step', () => {
    expect(chooseAutoBackend({ kind: 'adapter', adapter: nvidia, calibration: { webgpuMs: 4.04, wasmMs: 61.26 } })).toEqual({
      name: 'webgpu',
      reason: 'auto picked webgpu: a calibration step took 4.0 ms on webgpu (nvidia / ampere / NVIDIA GeForce RTX 3060) and 61.3 ms on wasm',
    });
    expect(chooseAutoBackend({ kind: 'adapter', adapter: intel, calibration: { webgpuMs: 80, wasmMs: 60 } })).toEqual({
      name: 'wasm',
      reason: 'auto picked wasm: a calibration step took 80.0 ms on webgpu (intel / gen-12lp) and 60.0 ms on wasm',
    });
    // A tie goes to wasm: webgpu must be strictly faster to be worth its upload and readback costs.
    expect(chooseAutoBackend({ kind: 'adapter', adapter: intel, calibration: { webgpuMs: 60, wasmMs: 60 } }).name).toBe('wasm');
  });

  test('a hardware adapter without a usable calibration is an error', () => {
    expect(() => chooseAutoBackend({ kind: 'adapter', adapter: nvidia })).toThrow('chooseAutoBackend: a hardware adapter needs a calibration');
    expect(() => chooseAutoBackend({ kind: 'adapter', adapter: nvidia, calibration: { webgpuMs: Number.NaN, wasmMs: 3 } })).toThrow(
      'chooseAutoBackend: calibration times must be positive numbers (webgpu NaN, wasm 3)',
    );
  });
});

test('with refuseSoftware off, a software adapter is judged by its calibration like any other', () => {
  expect(chooseAutoBackend({ kind: 'adapter', adapter: swiftshader, calibration: { webgpuMs: 900, wasmMs: 40 } }, { refuseSoftware: false })).toEqual({
    name: 'wasm',
    reason: 'auto picked wasm: a calibration step took 900.0 ms on webgpu (google / swiftshader) and 40.0 ms on wasm',
  });
});
