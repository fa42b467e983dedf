import * as tf from '@tensorflow/tfjs';
import type { NamedTensor } from '../../checkpoint/types.ts';
import type { CommonOptimizerOptions, DecayFilter, GradMap, LearningRate, MissingGradPolicy, OptimizerKind, OptimizerState, TrainableParam } from './types.ts';
import { decays } from './weightDecay.ts';

/** What one parameter's update sees. Scalars are float64 JS numbers, computed once per parameter and step. */
export interface UpdateInput {
  theta: tf.Variable;
  /** The gradient after per-parameter clipping (float32). */
  grad: tf.Tensor;
  slots: tf.Variable[];
  /** A float32 scalar of `v`, shared by every update of this step (see SlotOptimizer.stepScalar). */
  scalar: (v: number) => tf.Scalar;
  /** The scheduled learning rate for this update. */
  lr: number;
  /** This parameter's update count before this update (torch state['step']). */
  stepBefore: number;
  /** 0 when the parameter is outside the decay group. */
  weightDecay: number;
}

interface ParamEntry {
  name: string;
  variable: tf.Variable;
  decays: boolean;
  /** Created on the first update, as torch creates its per-parameter state lazily. */
  slots: tf.Variable[] | null;
  steps: number;
}

/** torch clip_grad_norm_ on one tensor: g · min(1, max / (‖g‖ + 1e-6)). */
function clipPerParam(g: tf.Tensor, maxNorm: number, scalar: (v: number) => tf.Scalar): tf.Tensor {
  const coef = tf.minimum(tf.div(scalar(maxNorm), tf.add(tf.norm(g), scalar(1e-6))), scalar(1));
  return tf.mul(g, coef);
}

function shapeEq(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

function checkUnit(name: string, value: number, lo: number, hi: number, hiOpen = true): number {
  if (!(value >= lo && (hiOpen ? value < hi : value <= hi))) {
    throw new Error(`optimizer option ${name} must be in [${lo}, ${hi}${hiOpen ? ')' : ']'}, got ${value}`);
  }
  return value;
}

/**
 * Shared machinery of the Adam family: parameters by name, lazily created slot variables updated in place
 * with assign (so the tensor count stays flat), per-parameter step counts, weight-decay groups, optional
 * per-parameter clipping, and exact state save/restore. Subclasses write only the update rule.
 */
export abstract class SlotOptimizer {
  abstract readonly kind: OptimizerKind;
  protected abstract readonly slotNames: readonly string[];
  protected readonly beta1: number;
  protected readonly beta2: number;
  protected readonly eps: number;
  readonly weightDecay: number;
  readonly maxGradNorm: number;
  readonly missingGrad: MissingGradPolicy;
  private readonly entries: ParamEntry[];
  private readonly byName = new Map<string, ParamEntry>();
  private globalStep = 0;
  private disposed = false;
  /** This step's scalars by value; null outside step(). */
  private stepScalars: Map<number | '-0', tf.Scalar> | null = null;

  constructor(params: readonly TrainableParam[], opts: CommonOptimizerOptions, defaults: Required<CommonOptimizerOptions>) {
    const o = { ...defaults, ...stripUndefined(opts) };
    this.beta1 = checkUnit('beta1', o.beta1, 0, 1);
    this.beta2 = checkUnit('beta2', o.beta2, 0, 1);
    if (!(o.eps >= 0)) throw new Error(`optimizer option eps must be >= 0, got ${o.eps}`);
    this.eps = o.eps;
    if (!(o.weightDecay >= 0) || !Number.isFinite(o.weightDecay)) {
      throw new Error(`optimizer option weightDecay must be a finite number >= 0, got ${o.weightDecay}`);
    }
    this.weightDecay = o.weightDecay;
    if (!(o.maxGradNorm >= 0) || !Number.isFinite(o.maxGradNorm)) {
      throw new Error(`optimizer option maxGradNorm must be a finite number >= 0 (0 = off), got ${o.maxGradNorm}`);
    }
    this.maxGradNorm = o.maxGradNorm;
    if (o.missingGrad !== 'zero-after-first' && o.missingGrad !== 'skip') {
      throw new Error(`optimizer option missingGrad must be 'zero-after-first' or 'skip', got ${JSON.stringify(o.missingGrad)}`);
    }
    this.missingGrad = o.missingGrad;
    const filter: DecayFilter = o.decayFilter;
    this.entries = params.map(({ name, variable }) => {
      if (this.byName.has(name)) throw new Error(`optimizer: parameter '${name}' is listed twice`);
      if (variable.dtype !== 'float32') {
        throw new Error(`optimizer: parameter '${name}' has dtype ${variable.dtype}; only float32 parameters can be trained`);
      }
      const entry: ParamEntry = { name, variable, decays: decays(filter, name), slots: null, steps: 0 };
      this.byName.set(name, entry);
      return entry;
    });
  }

  /** The step the original's schedule reads for this update (see LearningRate). */
  protected abstract scheduleStep(stepBefore: number, globalStepBefore: number): number;

  /** Assigns the new θ and slots. Runs inside tf.tidy. */
  protected abstract update(input: UpdateInput): void;

  /** Number of step() calls so far. */
  get stepCount(): number {
    return this.globalStep;
  }

  /** Names of the parameters in the decay group (for logs and tests). */
  decayedParams(): string[] {
    return this.entries.filter((e) => e.decays).map((e) => e.name);
  }

  /** One update of every parameter that has a gradient (see MissingGradPolicy). The gradients are not disposed. */
  step(grads: GradMap, lr: LearningRate): void {
    this.checkAlive();
    const gradMap = grads instanceof Map ? grads : new Map(Object.entries(grads));
    this.stepScalars = new Map();
    try {
      this.updateAll(gradMap, lr);
    } finally {
      tf.dispose([...this.stepScalars.values()]);
      this.stepScalars = null;
    }
    this.globalStep += 1;
  }

  /**
   * The scalar tensor of `v` for this step, created on first use and disposed when the step ends. Update rules
   * take their constants (β, 1 − β, ε, lr/bc₁, …) from here rather than as JS numbers, which tfjs turns into a
   * new scalar tensor at every use: on webgpu each of those is an upload, ~8 per parameter and step. The value
   * is the same float32 either way, so the arithmetic is unchanged.
   */
  private stepScalar(v: number): tf.Scalar {
    const memo = this.stepScalars;
    if (memo === null) throw new Error('optimizer: step scalars are only available inside step()');
    const key = Object.is(v, -0) ? '-0' : v; // a Map would take −0 for 0
    let s = memo.get(key);
    if (s === undefined) {
      s = tf.keep(tf.scalar(v, 'float32'));
      memo.set(key, s);
    }
    return s;
  }

  private updateAll(gradMap: Map<string, tf.Tensor>, lr: LearningRate): void {
    for (const name of gradMap.keys()) {
      if (!this.byName.has(name)) throw new Error(`optimizer: gradient given for unknown parameter '${name}'`);
    }
    for (const entry of this.entries) {
      const g = gradMap.get(entry.name);
      if (g === undefined && !(this.missingGrad === 'zero-after-first' && entry.slots !== null)) continue;
      if (g !== undefined && !shapeEq(g.shape, entry.variable.shape)) {
        throw new Error(`optimizer: gradient for '${entry.name}' has shape [${g.shape}] but the parameter has shape [${entry.variable.shape}]`);
      }
      const rate = typeof lr === 'function' ? lr(this.scheduleStep(entry.steps, this.globalStep)) : lr;
      if (!Number.isFinite(rate) || rate < 0) {
        throw new Error(`optimizer: learning rate for '${entry.name}' at step ${this.globalStep} is ${rate}; it must be finite and >= 0`);
      }
      if (entry.slots === null) entry.slots = this.createSlots(entry.variable, null);
      const slots = entry.slots;
      tf.tidy(() => {
        let grad = g === undefined ? tf.zerosLike(entry.variable) : g.dtype === 'float32' ? g : g.toFloat();
        const scalar = (v: number) => this.stepScalar(v);
        if (this.maxGradNorm > 0) grad = clipPerParam(grad, this.maxGradNorm, scalar);
        this.update({
          theta: entry.variable,
          grad,
          slots,
          scalar,
          lr: rate,
          stepBefore: entry.steps,
          weightDecay: entry.decays ? this.weightDecay : 0,
        });
      });
      entry.steps += 1;
    }
  }

  /** A copy of the state; slot values are read back asynchronously so a GPU backend is not stalled. */
  async getState(): Promise<OptimizerState> {
    this.checkAlive();
    const slots: NamedTensor[] = [];
    const paramSteps: Record<string, number> = {};
    for (const entry of this.entries) {
      if (entry.slots === null) continue;
      paramSteps[entry.name] = entry.steps;
      for (let i = 0; i < this.slotNames.length; i++) {
        const v = entry.slots[i];
        // Copy: the cpu backend hands out its backing array.
        const data = new Float32Array((await v.data()) as Float32Array);
        slots.push({ name: `${entry.name}:${this.slotNames[i]}`, shape: [...v.shape], dtype: 'F32', data });
      }
    }
    return { kind: this.kind, step: this.globalStep, paramSteps, slots };
  }

  /** Restores a state from getState (slot values exactly). Parameters absent from it start fresh. */
  setState(state: OptimizerState): void {
    this.checkAlive();
    if (state.kind !== this.kind) throw new Error(`optimizer state is for '${state.kind}' but this optimizer is '${this.kind}'`);
    if (!Number.isInteger(state.step) || state.step < 0) throw new Error(`optimizer state: step must be an integer >= 0, got ${state.step}`);
    const incoming = new Map<string, Map<string, NamedTensor>>();
    for (const t of state.slots) {
      const cut = t.name.lastIndexOf(':');
      const param = t.name.slice(0, cut);
      const slot = t.name.slice(cut + 1);
      const entry = this.byName.get(param);
      if (cut < 0 || !entry) throw new Error(`optimizer state: slot '${t.name}' names no parameter of this optimizer`);
      if (!this.slotNames.includes(slot)) {
        throw new Error(`optimizer state: slot '${t.name}' is not one of ${this.kind}'s slots (${this.slotNames.join(', ')})`);
      }
      if (!shapeEq(t.shape, entry.variable.shape)) {
        throw new Error(`optimizer state: slot '${t.name}' has shape [${t.shape}] but the parameter has shape [${entry.variable.shape}]`);
      }
      if (t.data.length !== entry.variable.size) {
        throw new Error(`optimizer state: slot '${t.name}' holds ${t.data.length} values, expected ${entry.variable.size}`);
      }
      if (!incoming.has(param)) incoming.set(param, new Map());
      incoming.get(param)!.set(slot, t);
    }
    for (const [param, steps] of Object.entries(state.paramSteps)) {
      if (!this.byName.has(param)) throw new Error(`optimizer state: paramSteps names unknown parameter '${param}'`);
      if (!Number.isInteger(steps) || steps < 0) throw new Error(`optimizer state: paramSteps['${param}'] must be an integer >= 0, got ${steps}`);
      const got = incoming.get(param);
      const missing = this.slotNames.filter((s) => !got?.has(s));
      if (missing.length > 0) throw new Error(`optimizer state: parameter '${param}' has no slot ${missing.map((s) => `'${param}:${s}'`).join(', ')}`);
    }
    for (const param of incoming.keys()) {
      if (!(param in state.paramSteps)) throw new Error(`optimizer state: slots of '${param}' are given but paramSteps has no entry for it`);
    }
    for (const entry of this.entries) {
      this.disposeSlots(entry);
      entry.steps = 0;
      const got = incoming.get(entry.name);
      if (!got) continue;
      entry.steps = state.paramSteps[entry.name];
      entry.slots = this.createSlots(
        entry.variable,
        this.slotNames.map((s) => got.get(s)!.data),
      );
    }
    this.globalStep = state.step;
  }

  dispose(): void {
    if (this.disposed) return;
    for (const entry of this.entries) this.disposeSlots(entry);
    this.disposed = true;
  }

  private createSlots(variable: tf.Variable, data: Float32Array[] | null): tf.Variable[] {
    // Inside tidy the initial tensor is freed while the variable (not tracked by tidy) keeps its data.
    return this.slotNames.map((_, i) => tf.tidy(() => (data ? tf.tensor(data[i].slice(), variable.shape, 'float32') : tf.zerosLike(variable)).variable(false)));
  }

  private disposeSlots(entry: ParamEntry): void {
    entry.slots?.forEach((v) => v.dispose());
    entry.slots = null;
  }

  private checkAlive(): void {
    if (this.disposed) throw new Error(`optimizer ${this.kind} was disposed`);
  }
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
