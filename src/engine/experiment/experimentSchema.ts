import * as v from 'valibot';
import { getTask, TASK_NAMES } from '../../../datasets/glueTasks.ts';
import { isSyntheticTaskName, SYNTHETIC_TASK_NAMES } from '../synthetic/taskNames.ts';

/**
 * The one experiment config: the CLI reads it from JSON, the trainer worker receives it, the URL state
 * carries it. Every field has the seed systems' default (docs/methods.md §1.7, §2.4, §4.3, §5.2) so `{}` plus a task
 * list is a runnable MT-DNN experiment.
 */
export const EXPERIMENT_VERSION = 1;

/** GLUE tasks, and the generated ones (demo SYN-*, planted PL-*) that only data.kind "synthetic" provides. */
const taskName = v.picklist([...TASK_NAMES, ...SYNTHETIC_TASK_NAMES] as [string, ...string[]], 'unknown task (neither GLUE nor synthetic)');
/** JSON can spell Infinity (`1e400`) and JSON.stringify writes it back as null, so every number must be finite. */
const finiteNumber = v.pipe(v.number(), v.finite('must be a finite number'));
/**
 * Where the page or the CLI may fetch from: an http(s) URL, or a path relative to the page (`./x`, `../x`, `x/y`).
 * `javascript:`, `file:`, `data:` and protocol-relative `//host` (another host in disguise) are refused.
 */
export function isWebUrl(s: string): boolean {
  // Control characters are exactly what this check is for.
  // eslint-disable-next-line no-control-regex
  if (/[\s\x00-\x1f\x7f]/.test(s)) return false;
  if (/^https?:\/\/[^/\\]/i.test(s)) return true;
  return !/^[a-z][a-z0-9+.-]*:/i.test(s) && !/^[\\/]{2}/.test(s);
}
/**
 * Link-local hosts (169.254.0.0/16, fe80::/10) are where cloud metadata services answer; no model or data
 * lives there, so a URL naming one is refused rather than fetched.
 */
export function isLinkLocalUrl(s: string): boolean {
  if (!/^https?:\/\//i.test(s)) return false;
  let host: string;
  try {
    // The WHATWG parser normalises 0xA9FEA9FE, 2852039166 and 169.254.43518 to the dotted form.
    host = new URL(s).hostname.toLowerCase();
  } catch {
    return false;
  }
  return /^169\.254\.\d{1,3}\.\d{1,3}$/.test(host) || /^\[fe[89ab][0-9a-f]?:/.test(host);
}
const webUrl = v.pipe(
  v.string(),
  v.maxLength(2048),
  v.check(isWebUrl, 'must be an http(s) URL or a relative path'),
  v.check((s) => !isLinkLocalUrl(s), 'a link-local address (169.254.x.x) is refused'),
);
const positiveInt = (max: number) => v.pipe(finiteNumber, v.integer('must be an integer'), v.minValue(1), v.maxValue(max));
const unit = v.pipe(finiteNumber, v.minValue(0), v.maxValue(1));
const finite = finiteNumber;

export const ModelSourceSchema = v.variant('kind', [
  v.object({
    kind: v.literal('hub'),
    repo: v.pipe(v.string(), v.regex(/^[\w.-]+\/[\w.-]+$/, 'must look like owner/name')),
    revision: v.optional(v.pipe(v.string(), v.regex(/^[\w.-]+$/)), 'main'),
  }),
  v.object({ kind: v.literal('url'), url: webUrl }),
  v.object({ kind: v.literal('dir'), path: v.pipe(v.string(), v.maxLength(4096)) }),
  v.object({ kind: v.literal('run'), runId: v.pipe(v.string(), v.maxLength(128)) }),
  v.object({
    kind: v.literal('random'),
    layers: v.optional(positiveInt(48), 4),
    hidden: v.optional(positiveInt(4096), 256),
    heads: v.optional(positiveInt(64), 4),
    intermediate: v.optional(positiveInt(16384), 1024),
    vocab: v.optional(v.picklist(['bert-base-uncased', 'synthetic']), 'bert-base-uncased'),
  }),
]);

export const DataSourceSchema = v.variant('kind', [
  v.object({ kind: v.literal('hub'), mirror: v.optional(webUrl, 'https://huggingface.co') }),
  v.object({ kind: v.literal('glue-dir'), path: v.pipe(v.string(), v.maxLength(4096)) }),
  v.object({ kind: v.literal('glue-url'), url: webUrl }),
  v.object({
    kind: v.literal('synthetic'),
    /** Generated rows per task (the CLI's defaults: 2,000 train, 500 dev; the page sets its own). */
    trainRows: v.optional(positiveInt(1_000_000)),
    devRows: v.optional(positiveInt(1_000_000)),
    /** Label-flip probability of the planted tasks. */
    noise: v.optional(v.pipe(finiteNumber, v.minValue(0), v.maxValue(0.5))),
  }),
]);

export const TaskEntrySchema = v.object({
  name: taskName,
  /** SIWLM task_weight (1 for all but the central task). */
  weight: v.optional(v.pipe(finite, v.minValue(0), v.maxValue(100)), 1),
  /** 'san' = MT-DNN's stochastic answer network (pair classification only); 'linear' otherwise. */
  head: v.optional(v.picklist(['linear', 'san']), 'linear'),
  /** Use only this fraction of the training split (domain adaptation: 0.001, 0.01, 0.1, 1). */
  trainFraction: v.optional(v.pipe(finiteNumber, v.minValue(0.0001), v.maxValue(1)), 1),
  /** Cap on training rows (after trainFraction), for quick runs. */
  maxTrainRows: v.optional(positiveInt(10_000_000)),
  /** Task-specific dropout on the pooled output (MT-DNN yml dropout_p; CoLA 0.05). */
  dropout: v.optional(unit),
  /**
   * Binary tasks scored by F1 (MRPC, QQP): keep this fraction of the training rows out of training and choose
   * the positive-class decision threshold that maximises F1 on them; dev and test are then scored with it.
   * Absent or 0 = argmax. Optional without a default so states saved before it existed still resume.
   */
  thresholdHoldout: v.optional(v.pipe(finiteNumber, v.minValue(0), v.maxValue(0.5))),
});

export const SamplerSchema = v.variant('kind', [
  v.object({ kind: v.literal('mtdnn'), mixOpt: v.optional(v.picklist([0, 1]), 0), ratio: v.optional(v.pipe(finiteNumber, v.minValue(0), v.maxValue(100)), 0) }),
  v.object({ kind: v.literal('anneal'), stepsPerEpoch: v.optional(positiveInt(10_000_000)), sizes: v.optional(v.picklist(['true', 'original']), 'true') }),
  v.object({ kind: v.picklist(['proportional', 'sqrt', 'uniform']), stepsPerEpoch: v.optional(positiveInt(10_000_000)) }),
  v.object({
    kind: v.literal('temperature'),
    temperature: v.pipe(finiteNumber, v.minValue(0.01), v.maxValue(100)),
    stepsPerEpoch: v.optional(positiveInt(10_000_000)),
  }),
]);

export const OptimizerSchema = v.object({
  kind: v.optional(v.picklist(['adamax', 'adam', 'adamw', 'bertadam', 'radam']), 'adamax'),
  lr: v.optional(v.pipe(finiteNumber, v.minValue(0), v.maxValue(1)), 5e-5),
  weightDecay: v.optional(v.pipe(finiteNumber, v.minValue(0), v.maxValue(1)), 0.01),
  decayFilter: v.optional(v.picklist(['no-bias-norm', 'all']), 'no-bias-norm'),
  beta1: v.optional(v.pipe(finiteNumber, v.minValue(0), v.maxValue(0.999999)), 0.9),
  beta2: v.optional(v.pipe(finiteNumber, v.minValue(0), v.maxValue(0.999999)), 0.999),
  eps: v.optional(v.pipe(finiteNumber, v.minValue(0), v.maxValue(1)), 1e-6),
  /** Per-parameter clipping inside the optimiser (BERTAdam's 1.0); 0 = off. */
  maxGradNorm: v.optional(v.pipe(finiteNumber, v.minValue(0), v.maxValue(1e6)), 0),
});

export const ScheduleSchema = v.object({
  kind: v.optional(v.picklist(['warmup_linear', 'warmup_linear_old', 'constant']), 'warmup_linear'),
  warmup: v.optional(v.pipe(finiteNumber, v.minValue(0), v.maxValue(0.99)), 0.1),
});

export const VariantSchema = v.object({
  kind: v.optional(v.picklist(['mtdnn', 'embert', 'gated', 'pals']), 'mtdnn'),
  hiddenSizeAug: v.optional(positiveInt(4096), 204),
  palHeads: v.optional(positiveInt(64), 6),
});

export const SiwlmSchema = v.object({
  enabled: v.optional(v.boolean(), false),
  centralTask: v.optional(taskName),
  centralWeight: v.optional(v.picklist([1, 3, 6, 9, 12, 15]), 3),
  /** Even epochs sequential focus window, odd epochs intensive (docs/methods.md §2.2); false = plain loss weighting. */
  alternation: v.optional(v.boolean(), true),
});

export const SmartSchema = v.object({
  enabled: v.optional(v.boolean(), false),
  alpha: v.optional(v.pipe(finiteNumber, v.minValue(0), v.maxValue(1e6)), 1),
  noiseVar: v.optional(v.pipe(finiteNumber, v.minValue(0), v.maxValue(1e6)), 1e-5),
  stepSize: v.optional(v.pipe(finiteNumber, v.minValue(0), v.maxValue(1e6)), 1e-3),
  epsilon: v.optional(v.pipe(finiteNumber, v.minValue(0), v.maxValue(1e6)), 1e-6),
  steps: v.optional(positiveInt(10), 1),
});

export const ExperimentSchema = v.object({
  version: v.optional(v.literal(EXPERIMENT_VERSION), EXPERIMENT_VERSION),
  name: v.optional(v.pipe(v.string(), v.maxLength(200)), 'experiment'),
  model: v.optional(ModelSourceSchema, { kind: 'random', layers: 4, hidden: 256, heads: 4, intermediate: 1024, vocab: 'bert-base-uncased' }),
  data: v.optional(DataSourceSchema, { kind: 'hub', mirror: 'https://huggingface.co' }),
  tasks: v.pipe(v.array(TaskEntrySchema), v.minLength(1, 'at least one task'), v.maxLength(12)),
  sampler: v.optional(SamplerSchema, { kind: 'mtdnn', mixOpt: 0, ratio: 0 }),
  /**
   * What a task's batches do between epochs: 'fixed' (formed once per run, one order — as the seed code does),
   * 'fixed-contents' (formed once, order reshuffled per epoch: MT-DNN v1) or 'reshuffle' (Taskscope's own: new
   * batches every epoch). See docs/methods.md, "Task sampling".
   */
  batches: v.optional(v.picklist(['fixed', 'fixed-contents', 'reshuffle']), 'fixed'),
  variant: v.optional(VariantSchema, {}),
  optimizer: v.optional(OptimizerSchema, {}),
  schedule: v.optional(ScheduleSchema, {}),
  siwlm: v.optional(SiwlmSchema, {}),
  smart: v.optional(SmartSchema, {}),
  epochs: v.optional(v.pipe(finiteNumber, v.minValue(0.01), v.maxValue(1000)), 5),
  batchSize: v.optional(positiveInt(4096), 32),
  evalBatchSize: v.optional(positiveInt(4096), 32),
  gradAccumulation: v.optional(positiveInt(1024), 1),
  /** clip_grad_norm over all parameters (MT-DNN --global_grad_clipping 1.0); 0 = off. */
  globalClip: v.optional(v.pipe(finiteNumber, v.minValue(0), v.maxValue(1e6)), 1),
  maxLength: v.optional(v.pipe(finiteNumber, v.integer(), v.minValue(8), v.maxValue(512)), 128),
  encoderDropout: v.optional(unit, 0.1),
  seed: v.optional(v.pipe(finiteNumber, v.integer(), v.minValue(0), v.maxValue(2 ** 31 - 1)), 2018),
  backend: v.optional(v.picklist(['auto', 'webgpu', 'wasm', 'cpu']), 'auto'),
  /** Evaluate on dev every N optimiser steps (0 = end of each epoch only). */
  evalEvery: v.optional(v.pipe(finiteNumber, v.integer(), v.minValue(0), v.maxValue(1e9)), 0),
  /** Save a resumable train state every N optimiser steps (0 = at the end of each epoch only). */
  checkpointEvery: v.optional(v.pipe(finiteNumber, v.integer(), v.minValue(0), v.maxValue(1e9)), 0),
});

/** Binary GLUE tasks scored by F1 (MRPC, QQP): the only ones `thresholdHoldout` applies to. */
export function hasF1DecisionThreshold(task: string): boolean {
  if (!(TASK_NAMES as readonly string[]).includes(task)) return false;
  const def = getTask(task);
  return def.type === 'classification' && def.labels?.length === 2 && def.metrics.includes('F1');
}

export type ExperimentInput = v.InferInput<typeof ExperimentSchema>;
export type Experiment = v.InferOutput<typeof ExperimentSchema>;

/** Validates an experiment; the error lists every problem as `path.to.field: message`. */
export function parseExperiment(input: unknown, origin = 'experiment'): Experiment {
  const r = v.safeParse(ExperimentSchema, input);
  if (r.success) {
    const exp = r.output;
    const names = exp.tasks.map((t) => t.name);
    const dup = names.find((n, i) => names.indexOf(n) !== i);
    if (dup) throw new Error(`${origin}: tasks: ${dup} is listed twice`);
    const generated = names.filter(isSyntheticTaskName);
    if (exp.data.kind !== 'synthetic' && generated.length > 0)
      throw new Error(`${origin}: data.kind: the synthetic tasks (${generated.join(', ')}) need data.kind "synthetic"`);
    // GLUE names with data.kind "synthetic" stay allowed: tests and the selection worker hand in-memory rows to the trainer that way.
    if (generated.length > 0) {
      const i = names.findIndex((n) => !isSyntheticTaskName(n));
      if (i >= 0)
        throw new Error(
          `${origin}: tasks.${i}.name: "${names[i]}" cannot be mixed with synthetic tasks (data.kind "synthetic" generates only ${SYNTHETIC_TASK_NAMES.join(', ')})`,
        );
    }
    if (exp.siwlm.enabled && exp.siwlm.centralTask && !names.includes(exp.siwlm.centralTask)) {
      throw new Error(`${origin}: siwlm.centralTask: ${exp.siwlm.centralTask} is not one of the tasks (${names.join(', ')})`);
    }
    for (const [i, t] of exp.tasks.entries()) {
      if (t.thresholdHoldout && !hasF1DecisionThreshold(t.name)) {
        throw new Error(`${origin}: tasks.${i}.thresholdHoldout: ${t.name} is not a binary task scored by F1 (only those have an F1 decision threshold)`);
      }
    }
    if (exp.model.kind === 'random' && exp.model.hidden % exp.model.heads !== 0) {
      throw new Error(`${origin}: model.hidden: ${exp.model.hidden} is not divisible by model.heads ${exp.model.heads}`);
    }
    return exp;
  }
  const lines = r.issues.map((i) => `${v.getDotPath(i) ?? '(root)'}: ${i.message}`);
  throw new Error(`${origin}: invalid experiment config\n  ${lines.join('\n  ')}`);
}
