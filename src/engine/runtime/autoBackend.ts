/**
 * The "auto" backend decision, kept free of DOM and tfjs so it can be tested with stubbed adapters. A
 * WebGPU adapter that is a software renderer (SwiftShader, llvmpipe, lavapipe, WARP) runs the model on the
 * CPU, roughly 20-30x slower than wasm, so auto takes wasm there; on a hardware adapter a short calibration
 * step decides, because a weak integrated GPU can still lose to wasm on small models.
 */

export interface AdapterFacts {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** GPUAdapterInfo.isFallbackAdapter (or the older GPUAdapter.isFallbackAdapter). */
  isFallbackAdapter: boolean;
}

/** Milliseconds of the same calibration workload on each backend (median of a few runs). */
export interface Calibration {
  webgpuMs: number;
  wasmMs: number;
}

export interface AutoDecision {
  name: 'webgpu' | 'wasm';
  /** One sentence for the device panel: what auto picked and why. */
  reason: string;
}

const SOFTWARE_RENDERERS = /swiftshader|llvmpipe|lavapipe|softpipe|microsoft basic render|\bwarp\b/i;

export function describeAdapter(a: AdapterFacts): string {
  const parts = [a.vendor, a.architecture, a.device, a.description].map((s) => s.trim()).filter(Boolean);
  return parts.length ? parts.join(' / ') : 'unnamed adapter';
}

/** Why this adapter is a software one, or undefined for a hardware adapter. */
export function softwareAdapterReason(a: AdapterFacts): string | undefined {
  const named = [a.vendor, a.architecture, a.device, a.description].find((s) => SOFTWARE_RENDERERS.test(s));
  const flag = a.isFallbackAdapter ? 'isFallbackAdapter' : '';
  if (named) return `the WebGPU adapter (${describeAdapter(a)}) is the software renderer ${named.match(SOFTWARE_RENDERERS)![0]}${flag ? ` (${flag})` : ''}`;
  if (flag) return `the WebGPU adapter (${describeAdapter(a)}) is a fallback adapter (${flag})`;
  return undefined;
}

const ms = (x: number) => `${x.toFixed(1)} ms`;

export type AutoInput = { kind: 'no-webgpu'; why: string } | { kind: 'adapter'; adapter: AdapterFacts; calibration?: Calibration };

/**
 * Decides auto's backend. A software adapter is refused before any calibration (tests may switch that off
 * to exercise the calibration on SwiftShader); otherwise webgpu must be strictly faster than wasm on the
 * calibration step.
 */
export function chooseAutoBackend(input: AutoInput, { refuseSoftware = true } = {}): AutoDecision {
  if (input.kind === 'no-webgpu') return { name: 'wasm', reason: `auto picked wasm: ${input.why}` };
  const software = softwareAdapterReason(input.adapter);
  if (software && refuseSoftware) return { name: 'wasm', reason: `auto picked wasm: ${software}, which runs on the CPU and is slower than wasm` };
  const c = input.calibration;
  if (!c) throw new Error('chooseAutoBackend: a hardware adapter needs a calibration');
  if (!(Number.isFinite(c.webgpuMs) && Number.isFinite(c.wasmMs) && c.webgpuMs > 0 && c.wasmMs > 0)) {
    throw new Error(`chooseAutoBackend: calibration times must be positive numbers (webgpu ${c.webgpuMs}, wasm ${c.wasmMs})`);
  }
  const timing = `a calibration step took ${ms(c.webgpuMs)} on webgpu (${describeAdapter(input.adapter)}) and ${ms(c.wasmMs)} on wasm`;
  return c.webgpuMs < c.wasmMs ? { name: 'webgpu', reason: `auto picked webgpu: ${timing}` } : { name: 'wasm', reason: `auto picked wasm: ${timing}` };
}
