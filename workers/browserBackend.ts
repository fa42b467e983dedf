import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-webgpu';
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import wasmUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import simdUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import threadedSimdUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';
import { initBackend } from '../src/engine/runtime/backend.ts';

/**
 * Backend setup for browser contexts (the model worker and the test harness page): registers webgpu and
 * wasm with Vite-served wasm binaries, picks the first backend that initialises, and reports what runs.
 */

export type BackendName = 'webgpu' | 'wasm' | 'cpu';

export interface AdapterReport {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
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

export interface BackendReport {
  name: string;
  /** Why the preferred backend is not the one running (init failure, timeout, lost GPU device). */
  fallbackReason?: string;
  adapter?: AdapterReport;
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

let wasmConfigured = false;
let fallbackReason: string | undefined;
let adapterReport: AdapterReport | undefined;
let deviceLoss: string | undefined;
const lossListeners = new Set<(reason: string) => void>();

function configureWasm(): void {
  if (wasmConfigured) return;
  // Threaded wasm never finishes initialising inside a Vite module worker (docs/architecture.md, tfjs trap 4).
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  setWasmPaths({
    'tfjs-backend-wasm.wasm': wasmUrl,
    'tfjs-backend-wasm-simd.wasm': simdUrl,
    'tfjs-backend-wasm-threaded-simd.wasm': threadedSimdUrl,
  });
  wasmConfigured = true;
}

/** Initialise the first backend in `order` that works (webgpu → wasm → cpu by default). */
export async function setupBrowserBackend(
  order: BackendName[] = ['webgpu', 'wasm', 'cpu'],
  { timeoutMs = 60_000 }: { timeoutMs?: number } = {},
): Promise<BackendReport> {
  configureWasm();
  const result = await initBackend(order, { timeoutMs });
  fallbackReason = result.fallbackReason;
  adapterReport = undefined;
  deviceLoss = undefined;
  if (result.name === 'webgpu') {
    adapterReport = await describeAdapter();
    watchDeviceLoss();
  }
  return backendReport();
}

async function describeAdapter(): Promise<AdapterReport | undefined> {
  const backend = tf.backend() as WebGPUBackend;
  const device = backend.device;
  // tfjs keeps the adapter private; a second adapter request returns the same physical adapter's info.
  const adapter = await navigator.gpu.requestAdapter({ powerPreference: 'high-performance' });
  const info: Partial<GPUAdapterInfo> = adapter?.info ?? {};
  const limits: Record<string, number> = {};
  for (const key of REPORTED_LIMITS) limits[key] = Number(device.limits[key]);
  return {
    vendor: info.vendor ?? '',
    architecture: info.architecture ?? '',
    device: info.device ?? '',
    description: info.description ?? '',
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
  const result = await initBackend(['wasm', 'cpu'], { timeoutMs });
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
  return {
    name: tf.getBackend(),
    ...(fallbackReason ? { fallbackReason } : {}),
    ...(adapterReport ? { adapter: adapterReport } : {}),
    memory: memoryReport(),
  };
}
