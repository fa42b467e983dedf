import * as tf from '@tensorflow/tfjs';
import { parseSafetensors, serializeSafetensors } from '../checkpoint/safetensors.ts';
import type { NamedTensor } from '../checkpoint/types.ts';
import type { Experiment } from '../experiment/experimentSchema.ts';
import type { EvaluationResult } from './evaluate.ts';
import type { MicroBatchScheduleState } from './microBatchSchedule.ts';
import type { OptimizerKind, OptimizerState } from './optim/types.ts';

export const TRAIN_STATE_FORMAT = 'taskscope-train-state/1';
const MODEL_PREFIX = 'model/';
const OPTIM_PREFIX = 'optim/';

/** Everything but the tensors: plain JSON. The schedule's position is MicroBatchScheduleState's fields. */
export interface TrainStateMeta extends MicroBatchScheduleState {
  format: typeof TRAIN_STATE_FORMAT;
  savedAt: string;
  experiment: Experiment;
  /** Task order of the run (task id = index; the SIWLM central task is first). */
  tasks: string[];
  /** Optimiser steps done. */
  step: number;
  optimizer: { kind: OptimizerKind; step: number; paramSteps: Record<string, number> };
  /** Step of the last evaluation, so a resumed run does not repeat it. */
  lastEvalStep: number;
  /** Its result, so a run resumed after its last evaluation still reports it (absent in older states). */
  lastEvaluation?: EvaluationResult | null;
  /** Checksum of the initial weights (see TrainerOptions.initialModelChecksum), when the caller gave one. */
  initialModelChecksum?: string;
}

/** A resumable snapshot of a run: the model's variables and the optimiser's slots by name, plus the meta. */
export interface TrainState {
  meta: TrainStateMeta;
  /** Raw variable values (the layout the variables have in memory) by parameter name. */
  model: NamedTensor[];
  optimizer: OptimizerState;
}

/** The two blobs a store keeps: JSON text and a safetensors file. */
export interface StoredTrainState {
  json: string;
  tensors: Uint8Array;
}

/** Where train states live: a folder in Node, IndexedDB in the browser, memory in tests. */
export interface TrainStateStore {
  describe(): string;
  /** Replaces the stored state; a reader never sees half of one. */
  save(state: StoredTrainState, step: number): Promise<void>;
  load(): Promise<StoredTrainState | null>;
}

/** Copies variables into host tensors (copies: the cpu backend hands out its backing arrays). */
export async function readVariables(vars: Map<string, tf.Variable>): Promise<NamedTensor[]> {
  const out: NamedTensor[] = [];
  for (const [name, v] of vars) {
    const data = new Float32Array((await v.data()) as Float32Array);
    out.push({ name, shape: [...v.shape], dtype: 'F32', data });
  }
  return out;
}

/** Assigns saved values to the variables; every variable must be given, with its shape. */
export function assignVariables(vars: Map<string, tf.Variable>, tensors: readonly NamedTensor[], origin: string): void {
  const byName = new Map(tensors.map((t) => [t.name, t]));
  for (const name of byName.keys()) if (!vars.has(name)) throw new Error(`${origin}: tensor ${name} is not a parameter of this model`);
  for (const [name, v] of vars) {
    const t = byName.get(name);
    if (!t) throw new Error(`${origin}: parameter ${name} is missing`);
    if (t.shape.join(',') !== v.shape.join(',')) throw new Error(`${origin}: tensor ${name} has shape [${t.shape}], the parameter has [${v.shape}]`);
  }
  for (const [name, v] of vars) tf.tidy(() => v.assign(tf.tensor(byName.get(name)!.data, v.shape, 'float32')));
}

export function encodeTrainState(state: TrainState): StoredTrainState {
  const { slots, ...optimizerMeta } = state.optimizer;
  const meta: TrainStateMeta = { ...state.meta, optimizer: optimizerMeta };
  const tensors = [...state.model.map((t) => ({ ...t, name: MODEL_PREFIX + t.name })), ...slots.map((t) => ({ ...t, name: OPTIM_PREFIX + t.name }))];
  const bytes = serializeSafetensors(tensors, 'F32', { format: TRAIN_STATE_FORMAT, step: String(meta.step) });
  return { json: `${JSON.stringify(meta)}\n`, tensors: bytes };
}

export function decodeTrainState(stored: StoredTrainState, origin: string): TrainState {
  let meta: TrainStateMeta;
  try {
    meta = JSON.parse(stored.json) as TrainStateMeta;
  } catch (e) {
    throw new Error(`${origin}: train state JSON is not valid (${(e as Error).message})`);
  }
  if (meta?.format !== TRAIN_STATE_FORMAT)
    throw new Error(`${origin}: not a Taskscope train state (format ${JSON.stringify(meta?.format)}, expected ${TRAIN_STATE_FORMAT})`);
  const { tensors, metadata } = parseSafetensors(stored.tensors, `${origin} tensors`);
  if (metadata?.step !== String(meta.step)) {
    throw new Error(`${origin}: the tensors are from step ${metadata?.step ?? '?'} but the JSON is from step ${meta.step} (a save was interrupted)`);
  }
  const model: NamedTensor[] = [];
  const slots: NamedTensor[] = [];
  for (const t of tensors) {
    if (t.name.startsWith(MODEL_PREFIX)) model.push({ ...t, name: t.name.slice(MODEL_PREFIX.length) });
    else if (t.name.startsWith(OPTIM_PREFIX)) slots.push({ ...t, name: t.name.slice(OPTIM_PREFIX.length) });
    else throw new Error(`${origin}: unexpected tensor ${t.name} in the train state`);
  }
  return { meta, model, optimizer: { ...meta.optimizer, slots } };
}

/** Keeps the latest state in memory (tests, and a worker that only needs pause/resume). */
export class MemoryTrainStateStore implements TrainStateStore {
  private state: StoredTrainState | null = null;
  /** Steps saved so far, oldest first. */
  readonly savedSteps: number[] = [];
  describe(): string {
    return 'memory';
  }
  async save(state: StoredTrainState, step: number): Promise<void> {
    this.state = { json: state.json, tensors: state.tensors.slice() };
    this.savedSteps.push(step);
  }
  async load(): Promise<StoredTrainState | null> {
    return this.state ? { json: this.state.json, tensors: this.state.tensors.slice() } : null;
  }
}
