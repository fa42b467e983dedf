import { getTask, TASK_NAMES } from '../../../datasets/glueTasks.ts';
import type { Experiment } from '../../engine/experiment/experimentSchema.ts';
import type { RunSummary } from '../../../workers/trainer/types.ts';
import { formatDuration as formatEngineDuration } from '../../engine/runtime/formatDuration.ts';

/**
 * What a training run will cost before it starts: parameters, memory, and time from a step this browser has
 * measured. All from shapes (the page never allocates tensors), so these are estimates and are labelled so.
 */

export interface EncoderShape {
  layers: number;
  hidden: number;
  heads: number;
  intermediate: number;
  vocab: number;
}

/** The device facts the limits are checked against (absent when the browser does not say). */
export interface DeviceLimits {
  backend: string;
  /** WebGPU adapter limits: the largest single buffer, and the largest one a shader can bind. */
  maxBufferSize?: number;
  maxStorageBufferBindingSize?: number;
  /** navigator.deviceMemory in GiB (Chrome rounds it and caps it at 8). */
  deviceMemoryGiB?: number;
}

/** A finished or running step this browser measured: the rate of another experiment, converted by FLOPs. */
export interface MeasuredStep {
  runName: string;
  backend: string;
  shape: EncoderShape;
  batch: number;
  seq: number;
  examplesPerSec: number;
}

export interface TrainingEstimate {
  params: number;
  /** Weights, gradients and the two Adam-family moment slots: 4 float32 copies of every parameter. */
  stateBytes: number;
  /** Activations kept for the backward pass of one batch. */
  activationBytes: number;
  totalBytes: number;
  /** The largest single tensor (one WebGPU buffer). */
  largestTensorBytes: number;
  batchesPerEpoch: number;
  batches: number;
  stepFlops: number;
  /** Null when no step has been measured in this browser. */
  seconds: number | null;
  basis: string;
  warnings: string[];
}

/** wasm32 can address 4 GiB; tfjs's wasm backend keeps every tensor in that one memory. */
export const WASM_MEMORY_BYTES = 4 * 1024 ** 3;
const DAY = 86_400;

/**
 * Matmul FLOPs of one training step, a multiply-add counted as 2 and backward ≈ 2 × forward (Kaplan et al. 2020,
 * "Scaling Laws for Neural Language Models", §2.1). Per layer: Q, K, V, output projections 4·(2·B·T·H²), the
 * feed-forward pair 2·(2·B·T·H·I), attention scores and probs·V 2·(2·B·T²·H). The same count as bench/trainFlops.ts.
 */
export function trainStepFlops(s: EncoderShape, batch: number, seq: number): number {
  const { layers: L, hidden: H, intermediate: I } = s;
  const perLayer = 2 * batch * seq * (4 * H * H + 2 * H * I) + 4 * batch * seq * seq * H;
  return 3 * (L * perLayer + 2 * batch * H * H);
}

/**
 * Bytes of activations a transformer layer keeps for backward: s·b·h·(34 + 5·a·s/h) at 16 bits (Korthikanti et
 * al. 2022, "Reducing Activation Recomputation in Large Transformer Models", §4.1), doubled for float32.
 */
export function activationBytes(s: EncoderShape, batch: number, seq: number): number {
  return 2 * s.layers * seq * batch * s.hidden * (34 + (5 * s.heads * seq) / s.hidden);
}

/** Training rows per task as the run will read them (synthetic: the demo's rows; GLUE: the train split, cut). */
export function trainRows(exp: Experiment, syntheticRows: number): number[] {
  return exp.tasks.map((t) => {
    if (!(TASK_NAMES as readonly string[]).includes(t.name)) return t.maxTrainRows ?? syntheticRows;
    const full = getTask(t.name).splits.find((s) => s.name === 'train')?.rows ?? 0;
    const kept = Math.floor(full * (t.trainFraction ?? 1));
    return t.maxTrainRows !== undefined ? Math.min(kept, t.maxTrainRows) : kept;
  });
}

const GiB = 1024 ** 3;
export const formatBytes = (b: number) =>
  b >= 1024 ** 4 ? `${(b / 1024 ** 4).toFixed(1)} TiB` : b >= GiB ? `${(b / GiB).toFixed(1)} GiB` : `${(b / 1024 ** 2).toFixed(1)} MiB`;

export function estimateTraining(
  exp: Experiment,
  shape: EncoderShape,
  params: number,
  opts: { syntheticRows: number; device: DeviceLimits; measured: MeasuredStep | null },
): TrainingEstimate {
  const B = exp.batchSize;
  const T = exp.maxLength;
  const stateBytes = 16 * params;
  const act = activationBytes(shape, B, T);
  const totalBytes = stateBytes + act;
  const largestTensorBytes = 4 * Math.max(shape.vocab * shape.hidden, shape.hidden * shape.intermediate, B * shape.heads * T * T, B * T * shape.intermediate);
  const batchesPerEpoch = trainRows(exp, opts.syntheticRows).reduce((a, n) => a + Math.ceil(n / B), 0);
  const batches = Math.ceil(batchesPerEpoch * exp.epochs);
  const stepFlops = trainStepFlops(shape, B, T);
  let seconds: number | null = null;
  let basis = 'no step measured in this browser yet: train the synthetic demo for a few steps to measure one';
  const m = opts.measured;
  if (m && m.examplesPerSec > 0) {
    const flopsPerSec = (trainStepFlops(m.shape, m.batch, m.seq) * m.examplesPerSec) / m.batch;
    seconds = (batches * stepFlops) / flopsPerSec;
    basis = `from "${m.runName}"'s measured rate on ${m.backend} (${m.examplesPerSec.toFixed(1)} examples/s, ${(flopsPerSec / 1e9).toFixed(2)} GFLOP/s), scaled by FLOPs per step`;
  }

  const warnings: string[] = [];
  const d = opts.device;
  if (d.backend === 'wasm' && totalBytes > WASM_MEMORY_BYTES) {
    warnings.push(`needs about ${formatBytes(totalBytes)}; the wasm backend can address 4 GiB`);
  }
  if (d.deviceMemoryGiB !== undefined && totalBytes > d.deviceMemoryGiB * GiB) {
    warnings.push(`needs about ${formatBytes(totalBytes)}; this device reports ${d.deviceMemoryGiB} GiB of memory`);
  }
  const bufferCap = Math.min(d.maxBufferSize ?? Infinity, d.maxStorageBufferBindingSize ?? Infinity);
  if (d.backend === 'webgpu' && largestTensorBytes > bufferCap) {
    warnings.push(`its largest tensor is ${formatBytes(largestTensorBytes)}; this GPU binds at most ${formatBytes(bufferCap)} per buffer`);
  }
  if (d.backend !== 'wasm' && d.backend !== 'webgpu' && totalBytes > WASM_MEMORY_BYTES) {
    warnings.push(`needs about ${formatBytes(totalBytes)}, more than a browser tab can hold`);
  }
  if (seconds !== null && seconds > DAY) warnings.push(`would take about ${formatDuration(seconds)} at the measured rate`);
  return { params, stateBytes, activationBytes: act, totalBytes, largestTensorBytes, batchesPerEpoch, batches, stepFlops, seconds, basis, warnings };
}

/**
 * A duration for an estimate: the page's one format ("2 min 05 s", "1 h 02 min", as the ETAs of running jobs)
 * up to two days, then days and years, which that format would spell as thousands of hours.
 */
export function formatDuration(s: number): string {
  if (s < 2 * DAY) return formatEngineDuration(s);
  if (s < 730 * DAY) return `${Math.round(s / DAY).toLocaleString('en-US')} days`;
  return `${(s / (365 * DAY)).toLocaleString('en-US', { maximumFractionDigits: 0 })} years`;
}

/** The shape of a run's encoder (the intermediate size from its config when random, else BERT's 4·H). */
function runShape(r: RunSummary): EncoderShape {
  const m = r.experiment.model;
  return {
    layers: r.model.layers,
    hidden: r.model.hidden,
    heads: r.model.heads,
    intermediate: m.kind === 'random' ? m.intermediate : 4 * r.model.hidden,
    vocab: r.model.vocabSize,
  };
}

/** The newest run with a measured rate, preferring one on `backend` (rates differ ~30× between backends). */
export function latestMeasuredStep(runs: readonly RunSummary[], backend: string | undefined): MeasuredStep | null {
  const measured = runs.filter((r) => r.examplesPerSec > 0 && r.step > 0).sort((a, b) => b.updatedAt.localeCompare(a.updatedAt));
  const r = measured.find((x) => x.backend === backend) ?? measured[0];
  if (!r) return null;
  return {
    runName: r.name,
    backend: r.backend,
    shape: runShape(r),
    batch: r.experiment.batchSize,
    seq: r.experiment.maxLength,
    examplesPerSec: r.examplesPerSec,
  };
}
