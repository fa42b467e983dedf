import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-webgpu';
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import { getThreadsCount, setThreadsCount, setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import wasmUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import simdUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import threadedSimdUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';
import { initBackend } from '../src/engine/runtime/backend.ts';
import { chooseAutoBackend, softwareAdapterReason, type AdapterFacts, type AutoDecision, type Calibration } from '../src/engine/runtime/autoBackend.ts';
import { timeCalibrationStep } from '../src/engine/runtime/calibration.ts';
import { registerWebGPUKernels } from './webgpuKernels.ts';

/**
 * Backend setup for browser contexts (the model worker and the test harness page): registers webgpu and
 * wasm with Vite-served wasm binaries, picks a backend ("auto", or the first of an explicit order that
 * initialises), and reports what runs and why.
 */

export type BackendName = 'webgpu' | 'wasm' | 'cpu';
/** 'auto': wasm unless a hardware WebGPU adapter wins a calibration step (src/engine/runtime/autoBackend.ts). */
export type BackendRequest = BackendName[] | 'auto';

export interface SetupOptions {
  timeoutMs?: number;
  /** wasm threads; default all logical cores (at most 8, tfjs's pthread pool size). 1 turns threads off. */
  wasmThreads?: number;
  /** Tests only: calibrate a software adapter instead of refusing it outright. */
  calibrateSoftwareAdapter?: boolean;
}

export interface AdapterReport {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  isFallbackAdapter: boolean;
  /** A subset of GPUSupportedLimits that bounds model size and batch shapes. */
  limits: Record<string, number>;
  features: string[];
}

export interface MemoryReport {
  numTensors: number;
  numBytes: number;
  numDataBuffers: number;
  /** tfjs sets this when it cannot count bytes exactly (e.g. string tensors). */
  unreliable: boolean;
}

export interface WasmReport {
  /** Threads XNNPACK really uses (1 without cross-origin isolation). */
  threads: number;
  crossOriginIsolated: boolean;
}

export interface AutoReport extends AutoDecision {
  calibration?: Calibration;
}

export interface BackendReport {
  name: string;
  /** Why the preferred backend is not the one running (init failure, timeout, lost GPU device). */
  fallbackReason?: string;
  /** Present when "auto" was asked for: what it picked and why. */
  auto?: AutoReport;
  adapter?: AdapterReport;
  wasm?: WasmReport;
  memory: MemoryReport;
}

const REPORTED_LIMITS = [
  'maxBufferSize',
  'maxStorageBufferBindingSize',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupsPerDimension',
] as const;

// Fused LayerNorm/GELU kernels for webgpu; ops.ts uses them wherever they are registered.
registerWebGPUKernels();

let wasmConfigured = false;
let fallbackReason: string | undefined;
let autoReport: AutoReport | undefined;
let adapterReport: AdapterReport | undefined;
let deviceLoss: string | undefined;
const lossListeners = new Set<(reason: string) => void>();

function configureWasm(threads: number | undefined): void {
  if (wasmConfigured) return;
  // Threads need SharedArrayBuffer, i.e. a cross-origin-isolated page (COOP/COEP headers, or
  // public/coi-serviceworker.js on a plain static host); tfjs detects that itself. Its pthread workers used
  // to hang in a built site: src/devtools/tfjsWasmThreads.ts explains why and fixes it at bundle time.
  const cores = Math.min(8, Math.max(1, navigator.hardwareConcurrency || 1));
  setThreadsCount(Math.max(1, Math.min(8, threads ?? cores)));
  setWasmPaths({
    'tfjs-backend-wasm.wasm': wasmUrl,
    'tfjs-backend-wasm-simd.wasm': simdUrl,
    'tfjs-backend-wasm-threaded-simd.wasm': threadedSimdUrl,
  });
  wasmConfigured = true;
}

/**
 * tfjs's wasm backend caps its thread pool at navigator.hardwareConcurrency / 2 (it assumes two hardware
 * threads per core: tfjs-backend-wasm src/cc/backend.cc), which leaves a 2-core machine on one thread
 * whatever setThreadsCount asks for. The cap is read once, while the module initialises, so the count is
 * doubled only for that moment.
 */
async function withUncappedThreads<T>(run: () => Promise<T>): Promise<T> {
  const nav = navigator as Navigator & { hardwareConcurrency: number };
  const real = nav.hardwareConcurrency;
  let patched = false;
  try {
    Object.defineProperty(nav, 'hardwareConcurrency', { configurable: true, get: () => real * 2 });
    patched = true;
  } catch {
    // Not redefinable here: tfjs keeps its own cap.
  }
  try {
    return await run();
  } finally {
    if (patched) delete (nav as { hardwareConcurrency?: number }).hardwareConcurrency;
  }
}

function wasmReport(): WasmReport | undefined {
  try {
    return { threads: getThreadsCount(), crossOriginIsolated: Boolean(globalThis.crossOriginIsolated) };
  } catch {
    return undefined; // wasm has not initialised
  }
}

function adapterFacts(adapter: GPUAdapter): AdapterFacts {
  const info: Partial<GPUAdapterInfo> & { isFallbackAdapter?: boolean } = adapter.info ?? {};
  const legacy = (adapter as GPUAdapter & { isFallbackAdapter?: boolean }).isFallbackAdapter;
  return {
    vendor: info.vendor ?? '',
    architecture: info.architecture ?? '',
    device: info.device ?? '',
    description: info.description ?? '',
    isFallbackAdapter: Boolean(info.isFallbackAdapter ?? legacy),
  };
}

async function timeOn(name: 'webgpu' | 'wasm', timeoutMs: number): Promise<number> {
  const choice = await initBackend([name], { timeoutMs });
  if (choice.name !== name) throw new Error(`${name} did not initialise`);
  return timeCalibrationStep();
}

/** Auto's decision: a software adapter is refused outright, a hardware one must beat wasm on a calibration step. */
async function decideAuto(opts: SetupOptions, timeoutMs: number): Promise<AutoReport> {
  const gpu = (navigator as Navigator & { gpu?: GPU }).gpu;
  if (!gpu) return chooseAutoBackend({ kind: 'no-webgpu', why: 'this browser has no WebGPU (navigator.gpu is missing)' });
  let adapter: GPUAdapter | null;
  try {
    adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  } catch (e) {
    return chooseAutoBackend({ kind: 'no-webgpu', why: `requestAdapter failed (${(e as Error).message})` });
  }
  if (!adapter) return chooseAutoBackend({ kind: 'no-webgpu', why: 'the browser offers no WebGPU adapter' });
  const facts = adapterFacts(adapter);
  const refuseSoftware = !opts.calibrateSoftwareAdapter;
  if (refuseSoftware && softwareAdapterReason(facts)) return chooseAutoBackend({ kind: 'adapter', adapter: facts });
  let calibration: Calibration;
  try {
    calibration = { webgpuMs: await timeOn('webgpu', timeoutMs), wasmMs: await timeOn('wasm', timeoutMs) };
  } catch (e) {
    return chooseAutoBackend({ kind: 'no-webgpu', why: `the calibration step failed (${(e as Error).message})` });
  }
  return { ...chooseAutoBackend({ kind: 'adapter', adapter: facts, calibration }, { refuseSoftware }), calibration };
}

/**
 * Initialise the backend: "auto" (the default) decides between webgpu and wasm as autoBackend.ts describes;
 * an explicit order takes the first backend that initialises (webgpu → wasm → cpu).
 */
export async function setupBrowserBackend(request: BackendRequest = 'auto', opts: SetupOptions = {}): Promise<BackendReport> {
  const timeoutMs = opts.timeoutMs ?? 60_000;
  configureWasm(opts.wasmThreads);
  return withUncappedThreads(async () => {
    autoReport = request === 'auto' ? await decideAuto(opts, timeoutMs) : undefined;
    const order: BackendName[] = request !== 'auto' ? request : autoReport!.name === 'webgpu' ? ['webgpu', 'wasm', 'cpu'] : ['wasm', 'cpu'];
    const result = await initBackend(order, { timeoutMs });
    fallbackReason = result.fallbackReason;
    adapterReport = undefined;
    deviceLoss = undefined;
    if (result.name === 'webgpu') {
      adapterReport = await describeAdapter();
      watchDeviceLoss();
    }
    return backendReport();
  });
}

async function describeAdapter(): Promise<AdapterReport | undefined> {
  const backend = tf.backend() as WebGPUBackend;
  const device = backend.device;
  // tfjs keeps the adapter private; a second adapter request returns the same physical adapter's info.
  const adapter = await navigator.gpu.requestAdapter({ powerPreference: 'high-performance' });
  const facts = adapter ? adapterFacts(adapter) : { vendor: '', architecture: '', device: '', description: '', isFallbackAdapter: false };
  const limits: Record<string, number> = {};
  for (const key of REPORTED_LIMITS) limits[key] = Number(device.limits[key]);
  return {
    ...facts,
    limits,
    features: [...device.features].map(String).sort(),
  };
}

function watchDeviceLoss(): void {
  const device = (tf.backend() as WebGPUBackend).device;
  void device.lost.then((info) => {
    // Only a loss of the device we are still running on matters.
    if (tf.getBackend() !== 'webgpu' || (tf.backend() as WebGPUBackend).device !== device) return;
    deviceLoss = `WebGPU device lost (${info.reason || 'unknown'}): ${info.message || 'no message'}`;
    for (const listener of lossListeners) listener(deviceLoss);
  });
}

/** Called when the GPU device goes away; the caller must rebuild model weights on the new backend. */
export function onDeviceLost(listener: (reason: string) => void): () => void {
  lossListeners.add(listener);
  return () => lossListeners.delete(listener);
}

/** The loss message if the active webgpu device is gone, else undefined. */
export function deviceLossReason(): string | undefined {
  return deviceLoss;
}

/**
 * After a device loss, switch to wasm (then cpu). Tensors that lived on the lost device cannot be read
 * back, so every model must be rebuilt from its checkpoint afterwards.
 */
export async function fallBackAfterDeviceLoss(reason: string, { timeoutMs = 60_000 } = {}): Promise<BackendReport> {
  const result = await withUncappedThreads(() => initBackend(['wasm', 'cpu'], { timeoutMs }));
  autoReport = undefined;
  try {
    tf.removeBackend('webgpu');
  } catch {
    // Disposing a backend whose device is already destroyed may throw; it is unusable either way.
  }
  adapterReport = undefined;
  deviceLoss = undefined;
  fallbackReason = result.fallbackReason ? `${reason}; then ${result.fallbackReason}` : `${reason}; switched to ${result.name}`;
  return backendReport();
}

export function memoryReport(): MemoryReport {
  const m = tf.memory() as tf.MemoryInfo & { unreliable?: boolean };
  return { numTensors: m.numTensors, numBytes: m.numBytes, numDataBuffers: m.numDataBuffers, unreliable: Boolean(m.unreliable) };
}

export function backendReport(): BackendReport {
  const wasm = tf.getBackend() === 'wasm' ? wasmReport() : undefined;
  return {
    name: tf.getBackend(),
    ...(fallbackReason ? { fallbackReason } : {}),
    ...(autoReport ? { auto: autoReport } : {}),
    ...(adapterReport ? { adapter: adapterReport } : {}),
    ...(wasm ? { wasm } : {}),
    memory: memoryReport(),
  };
}
