import * as tf from '@tensorflow/tfjs';
import { getTask } from '../../../datasets/glueTasks.ts';
import type { SplitName, TaskName } from '../../../datasets/types.ts';
import { loadBertCheckpoint, saveBertCheckpoint } from '../checkpoint/hfFolder.ts';
import type { LoadedSplit } from '../data/shardReader.ts';
import type { Experiment } from '../experiment/experimentSchema.ts';
import type { BertEncoder } from '../model/bertEncoder.ts';
import { averageTeachers, combineSoftLabels, distillationLossExtras, parseSoftLabels, serializeSoftLabels, type SoftLabels } from './distillation.ts';
import { predictSplit, taskMetrics, withDecision, type DecisionThreshold, type EvaluationResult, type SplitPredictions, type TaskEvaluation } from './evaluate.ts';
import { exportCheckpointFiles, parseHeadsFile } from './exportCheckpoint.ts';
import { buildEncoder, buildMultiTaskModel } from '../model/modelFactory.ts';
import type { MultiTaskModel } from '../model/multiTaskModel.ts';
import { modelFromExport } from './trainedModel.ts';
import type { PipelineConfig } from './pipelineConfig.ts';
import { readText, requireText, runFolderSource, writeRunFolder, type RunStorage } from './runStorage.ts';
import { smartLossExtras, smartOptionsFromExperiment } from './smart.ts';
import { buildSubmissionZip, submissionTargets, type SubmissionPredictions } from './submission.ts';
import type { TaskSpec } from '../model/taskSpec.ts';
import type { TrainerEvent } from './trainEvents.ts';
import { Trainer, type TaskSplits } from './trainer.ts';
import type { TrainStateStore } from './trainState.ts';
import type { LossExtras } from './trainStep.ts';
import { assembleRunData } from './runData.ts';

/**
 * The MT-DNN pipeline (docs/methods.md §1.8–1.11, §2.5) as a declarative list of stages run by one runner:
 *
 *   mtl       multi-task training                       → mtl/model/ (HF folder + heads.json), mtl/metrics.json, mtl/log.jsonl
 *   strip     drop the task heads, keep the encoder      → strip/model/ (HF folder, no heads), strip/strip.json
 *   finetune  each target task from strip/, fresh linear head → finetune/<task>/{model/, metrics.json, log.jsonl}
 *   evaluate  labelled dev (and labelled test) splits    → evaluate/<task>.<split>.jsonl, evaluate/<task>.json, evaluate/summary.json
 *   predict   test splits (AX with the MNLI model), and teacher soft labels on request
 *                                                        → predict/<task>.<split>.jsonl, teacher/<task>.<split>.soft.jsonl
 *   submit    the GLUE zip                               → submit/glue_submission.zip, submit/report.json
 *
 * Every stage reads its inputs from the run's storage and writes its outputs there, so a stopped run restarts
 * from the last completed stage, or inside a stage from the last completed unit (one fine-tuned task, one
 * evaluated task). `pipeline-state.json` records what is done and the config it was done with.
 */

export const PIPELINE_STATE_FILE = 'pipeline-state.json';
export const PIPELINE_STATE_FORMAT = 'taskscope-pipeline/1';
export const SUBMISSION_ZIP = 'submit/glue_submission.zip';

export type StageId = 'mtl' | 'strip' | 'finetune' | 'evaluate' | 'predict' | 'submit';

export interface InitialModel {
  encoder: BertEncoder;
  vocabText: string;
  doLowerCase: boolean;
}

export type PipelineEvent =
  | { type: 'stage'; stage: StageId; status: 'start' | 'done' | 'skipped' | 'disabled' }
  | { type: 'unit'; key: string; status: 'start' | 'done' | 'skipped' }
  | { type: 'train'; run: string; event: TrainerEvent };

/** What the runner needs from its host (the CLI, the trainer worker, a test). */
export interface PipelineEnv {
  storage: RunStorage;
  /** The multi-task stage's starting encoder (from the mtl experiment's `model`) and its vocabulary. */
  initialModel(exp: Experiment): Promise<InitialModel>;
  /**
   * A task's split, tokenized with the initial model's vocabulary and truncated to `maxLength`; null when the
   * data has no such split.
   */
  loadSplit(task: TaskName, split: SplitName, maxLength: number): Promise<LoadedSplit | null>;
  /** Text of a file the config names (finetune.kd.teachers). */
  readExternal?(path: string): Promise<string>;
  /** Another run's storage (predict.teacher.ensembleWith). */
  openRun?(path: string): RunStorage;
  /** Resumable train states per training run, so a stopped stage resumes mid-training; none = from its start. */
  trainStates?: { open(key: string): TrainStateStore; remove?(key: string): Promise<void> };
  onEvent?(e: PipelineEvent): void;
  /** Stops the run after the current training step (the stage can be resumed later). */
  signal?: AbortSignal;
}

export interface PipelineRunOptions {
  /** Redo this stage and every later one (also accepts a changed config). */
  from?: StageId;
  /** Stop after this stage. */
  until?: StageId;
}

interface UnitRecord {
  at: string;
  outputs: string[];
}

interface PipelineState {
  format: typeof PIPELINE_STATE_FORMAT;
  config: unknown;
  /** Completed units ('mtl', 'finetune/RTE', …) and stages ('stage:finetune'). */
  done: Record<string, UnitRecord>;
  /** Units started and not finished, with the id of their train-state slot (a crash resumes into it). */
  inProgress: Record<string, string>;
  nextSlot: number;
}

interface StageContext {
  cfg: PipelineConfig;
  env: PipelineEnv;
  storage: RunStorage;
  /** Runs `fn` unless `key` is done with its outputs present; `slot` names the unit's train-state slot. */
  unit(key: string, fn: (slot: string) => Promise<string[]>): Promise<void>;
}

export interface PipelineStage {
  id: StageId;
  title: string;
  enabled(cfg: PipelineConfig): boolean;
  run(ctx: StageContext): Promise<void>;
}

// ——— predictions files ———

/** One line of a predictions file. `scores`: class probabilities (classification) or [score] (regression, ranking). */
export interface PredictionRecord {
  uid: string;
  prediction: number;
  scores: number[];
}

export function predictionsJsonl(p: SplitPredictions): string {
  const width = p.uids.length ? p.scores.length / p.uids.length : 0;
  const lines = p.uids.map((uid, i) => JSON.stringify({
    uid,
    prediction: p.predictions[i],
    scores: Array.from(p.scores.subarray(i * width, (i + 1) * width)),
  } satisfies PredictionRecord));
  return lines.length ? `${lines.join('\n')}\n` : '';
}

export function parsePredictionsJsonl(text: string, origin: string): { uids: string[]; predictions: number[]; scores: number[]; width: number } {
  const uids: string[] = [];
  const predictions: number[] = [];
  const scores: number[] = [];
  let width = -1;
  text.split('\n').forEach((line, i) => {
    if (line === '') return;
    let r: PredictionRecord;
    try {
      r = JSON.parse(line) as PredictionRecord;
    } catch (e) {
      throw new Error(`${origin}:${i + 1}: not valid JSON (${(e as Error).message})`);
    }
    if (typeof r.uid !== 'string' || typeof r.prediction !== 'number' || !Array.isArray(r.scores)) {
      throw new Error(`${origin}:${i + 1}: expected {"uid": string, "prediction": number, "scores": number[]}`);
    }
    if (width >= 0 && r.scores.length !== width) throw new Error(`${origin}:${i + 1}: field scores: ${r.scores.length} values, earlier lines have ${width}`);
    width = r.scores.length;
    uids.push(r.uid);
    predictions.push(r.prediction);
    scores.push(...r.scores);
  });
  return { uids, predictions, scores, width: Math.max(0, width) };
}

// ——— helpers shared by the stages ———

/** Both trainer hooks in one (SMART's `unweighted`, KD's `weighted`); undefined when neither is on. */
export function combineLossExtras(...extras: (LossExtras | null | undefined)[]): LossExtras | undefined {
  const on = extras.filter((e): e is LossExtras => !!e);
  if (on.length <= 1) return on[0];
  return (ctx) => {
    let weighted: tf.Scalar | undefined;
    let unweighted: tf.Scalar | undefined;
    for (const e of on) {
      const r = e(ctx);
      if (r?.weighted) weighted = weighted ? (tf.add(weighted, r.weighted) as tf.Scalar) : r.weighted;
      if (r?.unweighted) unweighted = unweighted ? (tf.add(unweighted, r.unweighted) as tf.Scalar) : r.unweighted;
    }
    return weighted || unweighted ? { weighted, unweighted } : null;
  };
}

const devSplits = (task: TaskName) => getTask(task).splits.filter((s) => s.name.startsWith('dev') && s.labelled).map((s) => s.name);
const testSplits = (task: TaskName) => getTask(task).splits.filter((s) => s.name.startsWith('test')).map((s) => s.name);

/** Each task's (subset) training split and first labelled dev split, as the trainer takes them. */
const trainingData = (env: PipelineEnv, exp: Experiment): Promise<Record<string, TaskSplits>> => assembleRunData(exp, env.loadSplit, { label: 'pipeline' });

async function readKdTeachers(env: PipelineEnv, cfg: PipelineConfig, task: string): Promise<SoftLabels | null> {
  const files = cfg.finetune.kd?.teachers[task];
  if (!files) return null;
  if (!env.readExternal) throw new Error('pipeline: finetune.kd names soft-label files, but this host cannot read files');
  const parsed: SoftLabels[] = [];
  for (const f of files) {
    const s = parseSoftLabels(await env.readExternal(f), f);
    if (s.task !== task) throw new Error(`${f}: soft labels of ${s.task}, but finetune.kd.teachers.${task} names it`);
    parsed.push(s);
  }
  return combineSoftLabels(parsed);
}

/** Trains `model` on `exp` to the end; the log lines are the trainer's step and eval events. */
async function train(ctx: StageContext, run: string, slot: string, exp: Experiment, model: MultiTaskModel, lossExtras?: LossExtras) {
  const { env } = ctx;
  const data = await trainingData(env, exp);
  const log: string[] = [];
  const store = env.trainStates?.open(slot);
  const trainer = new Trainer({
    experiment: exp,
    model,
    data,
    store,
    lossExtras,
    onEvent: (event) => {
      if (event.type === 'step' || event.type === 'eval') log.push(JSON.stringify({ run, ...event }));
      env.onEvent?.({ type: 'train', run, event });
    },
  });
  const onAbort = () => trainer.stop();
  env.signal?.addEventListener('abort', onAbort);
  try {
    if (store) await trainer.restoreFromStore();
    if (env.signal?.aborted) throw new Error(`pipeline: stopped before ${run} training`);
    const r = await trainer.run();
    if (r.status !== 'done') throw new Error(`pipeline: ${run} training ${r.status} at step ${r.step}${r.message ? `: ${r.message}` : ''}`);
    return { evaluation: r.lastEvaluation, log: log.length ? `${log.join('\n')}\n` : '' };
  } finally {
    env.signal?.removeEventListener('abort', onAbort);
    trainer.dispose();
  }
}

/** A model saved by a training stage: the encoder from the HF folder, the heads from heads.json. */
async function loadRunModel(storage: RunStorage, folder: string, exp: Experiment): Promise<MultiTaskModel> {
  const ckpt = await loadBertCheckpoint(runFolderSource(storage, folder));
  return modelFromExport(ckpt, await requireText(storage, `${folder}/heads.json`, 'task heads'), exp, `${storage.describe()}/${folder}/heads.json`);
}

function json(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

// ——— the stages ———

const mtlStage: PipelineStage = {
  id: 'mtl',
  title: 'multi-task training',
  enabled: () => true,
  async run(ctx) {
    await ctx.unit('mtl', async (slot) => {
      const exp = ctx.cfg.mtl;
      const init = await ctx.env.initialModel(exp);
      const model = buildMultiTaskModel(exp, init.encoder);
      try {
        const smart = smartOptionsFromExperiment(exp.smart);
        const r = await train(ctx, 'mtl', slot, exp, model, smart ? smartLossExtras(smart) : undefined);
        const files = await exportCheckpointFiles(model, { experiment: exp, vocabText: init.vocabText, doLowerCase: init.doLowerCase, metrics: r.evaluation });
        const out = await writeRunFolder(ctx.storage, 'mtl/model', files);
        await ctx.storage.write('mtl/metrics.json', json(r.evaluation));
        await ctx.storage.write('mtl/log.jsonl', r.log);
        return [...out, 'mtl/metrics.json', 'mtl/log.jsonl'];
      } finally {
        model.dispose();
      }
    });
  },
};

const stripStage: PipelineStage = {
  id: 'strip',
  title: 'strip the task layers',
  enabled: () => true,
  async run(ctx) {
    await ctx.unit('strip', async () => {
      const { storage } = ctx;
      // MT-DNN strip_model: drop every task head (scoring_list), keep the encoder and its pooler.
      const ckpt = await loadBertCheckpoint(runFolderSource(storage, 'mtl/model'));
      const heads = parseHeadsFile(await requireText(storage, 'mtl/model/heads.json', 'task heads'));
      const files = saveBertCheckpoint({ config: ckpt.config, vocabText: ckpt.vocabText, doLowerCase: ckpt.doLowerCase, tensors: ckpt.tensors });
      const out = await writeRunFolder(storage, 'strip/model', files);
      await storage.write('strip/strip.json', json({ from: 'mtl/model', droppedHeads: heads.map((h) => h.task), encoderTensors: ckpt.tensors.size }));
      return [...out, 'strip/strip.json'];
    });
  },
};

const finetuneStage: PipelineStage = {
  id: 'finetune',
  title: 'fine-tune each target task',
  enabled: () => true,
  async run(ctx) {
    for (const task of ctx.cfg.finetune.tasks) {
      await ctx.unit(`finetune/${task}`, async (slot) => {
        const exp = ctx.cfg.finetune.experiments[task];
        const ckpt = await loadBertCheckpoint(runFolderSource(ctx.storage, 'strip/model'));
        const model = buildMultiTaskModel(exp, buildEncoder(exp, { checkpoint: ckpt })); // a fresh linear head
        try {
          const smart = smartOptionsFromExperiment(exp.smart);
          const teachers = await readKdTeachers(ctx.env, ctx.cfg, task);
          const extras = combineLossExtras(
            smart ? smartLossExtras(smart) : null,
            teachers ? distillationLossExtras(new Map([[task, teachers]]), ctx.cfg.finetune.kd!.variant) : null,
          );
          const r = await train(ctx, `finetune/${task}`, slot, exp, model, extras);
          const dir = `finetune/${task}`;
          const files = await exportCheckpointFiles(model, { experiment: exp, vocabText: ckpt.vocabText, doLowerCase: ckpt.doLowerCase, metrics: r.evaluation });
          const out = await writeRunFolder(ctx.storage, `${dir}/model`, files);
          await ctx.storage.write(`${dir}/metrics.json`, json(r.evaluation));
          await ctx.storage.write(`${dir}/log.jsonl`, r.log);
          return [...out, `${dir}/metrics.json`, `${dir}/log.jsonl`];
        } finally {
          model.dispose();
        }
      });
    }
  },
};

/**
 * Runs a fine-tuned model over one split; `spec` picks the head (AX goes through MNLI's). With a decision
 * threshold (thresholdHoldout) the class ids come from it, as the fine-tuning run's own evaluation scored them.
 */
async function predictWith(ctx: StageContext, model: MultiTaskModel, spec: TaskSpec, task: TaskName, split: SplitName, exp: Experiment,
  decision?: DecisionThreshold): Promise<SplitPredictions | null> {
  const data = await ctx.env.loadSplit(task, split, exp.maxLength);
  if (!data) return null;
  return withDecision(spec, await predictSplit(model, spec, data, exp.evalBatchSize), decision);
}

/** The threshold the fine-tuning of `task` chose on its held-out training rows (finetune/<task>/metrics.json), if any. */
async function fineTunedDecision(storage: RunStorage, task: string): Promise<DecisionThreshold | undefined> {
  const path = `finetune/${task}/metrics.json`;
  const origin = `${storage.describe()}/${path}`;
  let ev: EvaluationResult | null;
  try {
    ev = JSON.parse(await requireText(storage, path, 'fine-tuning metrics')) as EvaluationResult | null;
  } catch (e) {
    if (e instanceof SyntaxError) throw new Error(`${origin}: not valid JSON (${e.message})`);
    throw e;
  }
  const d = ev?.tasks?.find((t) => t.task === task)?.decision;
  if (d && !(Number.isFinite(d.threshold) && d.threshold >= 0 && d.threshold <= 1)) {
    throw new Error(`${origin}: tasks[${task}].decision.threshold must be a probability in [0, 1], got ${String(d.threshold)}`);
  }
  return d ? { threshold: d.threshold, holdoutRows: d.holdoutRows, holdoutF1: d.holdoutF1 } : undefined;
}

interface TaskReport {
  task: string;
  splits: Record<string, TaskEvaluation>;
  /** Mean over the task's dev splits (MNLI: matched and mismatched). */
  devScore: number;
}

const evaluateStage: PipelineStage = {
  id: 'evaluate',
  title: 'evaluate on dev',
  enabled: () => true,
  async run(ctx) {
    const { storage } = ctx;
    for (const task of ctx.cfg.finetune.tasks) {
      await ctx.unit(`evaluate/${task}`, async () => {
        const exp = ctx.cfg.finetune.experiments[task];
        const model = await loadRunModel(storage, `finetune/${task}/model`, exp);
        try {
          const spec = model.slot(task).spec;
          const decision = await fineTunedDecision(storage, task);
          const report: TaskReport = { task, splits: {}, devScore: NaN };
          const outputs: string[] = [];
          // Dev splits, and test splits that carry labels (SciTail, SNLI).
          const labelled = getTask(task).splits.filter((s) => s.labelled && s.name !== 'train').map((s) => s.name);
          for (const split of labelled) {
            const p = await predictWith(ctx, model, spec, task, split, exp);
            if (!p) continue;
            const path = `evaluate/${task}.${split}.jsonl`;
            await storage.write(path, predictionsJsonl(withDecision(spec, p, decision)));
            outputs.push(path);
            report.splits[split] = taskMetrics(spec, p, decision);
          }
          const dev = devSplits(task).filter((s) => report.splits[s]);
          if (dev.length === 0) throw new Error(`pipeline: evaluate ${task}: the data has none of its dev splits (${devSplits(task).join(', ')})`);
          report.devScore = dev.reduce((a, s) => a + report.splits[s].score, 0) / dev.length;
          await storage.write(`evaluate/${task}.json`, json(report));
          return [...outputs, `evaluate/${task}.json`];
        } finally {
          model.dispose();
        }
      });
    }
    await ctx.unit('evaluate/summary', async () => {
      const tasks: Record<string, TaskReport> = {};
      for (const task of ctx.cfg.finetune.tasks) tasks[task] = JSON.parse(await requireText(storage, `evaluate/${task}.json`, 'task evaluation')) as TaskReport;
      const scores = Object.values(tasks).map((t) => t.devScore);
      // Task scores are on the 0–1 scale of evaluate.ts; GLUE reports ×100.
      await storage.write('evaluate/summary.json', json({ tasks: Object.fromEntries(Object.entries(tasks).map(([k, t]) => [k, t.devScore])), glueScore: scores.reduce((a, b) => a + b, 0) / scores.length }));
      return ['evaluate/summary.json'];
    });
  },
};

const predictStage: PipelineStage = {
  id: 'predict',
  title: 'predict test sets',
  enabled: () => true,
  async run(ctx) {
    const { storage, cfg } = ctx;
    const teacher = cfg.predict.teacher;
    for (const task of cfg.finetune.tasks) {
      await ctx.unit(`predict/${task}`, async () => {
        const exp = cfg.finetune.experiments[task];
        const model = await loadRunModel(storage, `finetune/${task}/model`, exp);
        const outputs: string[] = [];
        const write = async (file: string, p: SplitPredictions | null) => {
          if (!p) return;
          await storage.write(file, predictionsJsonl(p));
          outputs.push(file);
        };
        try {
          const spec = model.slot(task).spec;
          const decision = await fineTunedDecision(storage, task);
          for (const split of testSplits(task)) await write(`predict/${task}.${split}.jsonl`, await predictWith(ctx, model, spec, task, split, exp, decision));
          // The diagnostic set is scored with the MNLI model (same three labels).
          if (task === 'MNLI') await write('predict/AX.test.jsonl', await predictWith(ctx, model, spec, 'AX', 'test', exp));
          if (teacher && spec.type === 'classification') {
            for (const split of teacher.splits) {
              const own = `predict/${task}.${split}.jsonl`;
              if (!outputs.includes(own)) await write(own, await predictWith(ctx, model, spec, task, split as SplitName, exp));
              if (!outputs.includes(own)) throw new Error(`pipeline: predict.teacher: the data has no ${task} ${split} split`);
              const runs = [storage, ...teacher.ensembleWith.map((r) => {
                if (!ctx.env.openRun) throw new Error('pipeline: predict.teacher.ensembleWith names other runs, but this host cannot open them');
                return ctx.env.openRun(r);
              })];
              const members = [];
              for (const run of runs) {
                const text = await readText(run, own);
                if (text === null) throw new Error(`pipeline: predict.teacher: ${run.describe()}/${own} not found (run its predict stage with the same teacher splits)`);
                members.push(parsePredictionsJsonl(text, `${run.describe()}/${own}`));
              }
              const soft = averageTeachers(task, split, spec.numLabels, members);
              const file = `teacher/${task}.${split}.soft.jsonl`;
              await storage.write(file, serializeSoftLabels(soft));
              outputs.push(file);
            }
          }
          return outputs;
        } finally {
          model.dispose();
        }
      });
    }
  },
};

const submitStage: PipelineStage = {
  id: 'submit',
  title: 'GLUE submission zip',
  enabled: (cfg) => cfg.submit.enabled,
  async run(ctx) {
    await ctx.unit('submit', async () => {
      const { storage } = ctx;
      const predictions: SubmissionPredictions[] = [];
      for (const t of submissionTargets()) {
        const path = `predict/${t.task.name}.${t.split}.jsonl`;
        const text = await readText(storage, path);
        if (text === null) continue;
        const p = parsePredictionsJsonl(text, `${storage.describe()}/${path}`);
        predictions.push({ task: t.task.name, split: t.split, uids: p.uids, predictions: p.predictions });
      }
      const built = buildSubmissionZip(predictions, { allowPartial: ctx.cfg.submit.partial });
      await storage.write(SUBMISSION_ZIP, built.zip);
      const rows = Object.fromEntries([...built.files].map(([name, text]) => [name, text.split('\n').length - 2]));
      await storage.write('submit/report.json', json({ files: rows, missing: built.missing, warnings: built.warnings }));
      return [SUBMISSION_ZIP, 'submit/report.json'];
    });
  },
};

/** The MT-DNN recipe, in order. */
export const MTDNN_STAGES: readonly PipelineStage[] = [mtlStage, stripStage, finetuneStage, evaluateStage, predictStage, submitStage];

// ——— the runner ———

async function loadState(storage: RunStorage): Promise<PipelineState | null> {
  const text = await readText(storage, PIPELINE_STATE_FILE);
  if (text === null) return null;
  let s: PipelineState;
  try {
    s = JSON.parse(text) as PipelineState;
  } catch (e) {
    throw new Error(`${storage.describe()}/${PIPELINE_STATE_FILE}: not valid JSON (${(e as Error).message})`);
  }
  if (s?.format !== PIPELINE_STATE_FORMAT) throw new Error(`${storage.describe()}/${PIPELINE_STATE_FILE}: not a Taskscope pipeline state (format ${JSON.stringify(s?.format)})`);
  return s;
}

const stageOfKey = (key: string) => (key.startsWith('stage:') ? key.slice(6) : key.split('/')[0]) as StageId;

export interface PipelineRunResult {
  /** Stages run this time, and the ones skipped because a previous run completed them. */
  ran: StageId[];
  skipped: StageId[];
}

/**
 * Runs the stages in order. A stage (or unit) that a previous run completed with the same config, and whose
 * outputs are all still there, is skipped; once a stage runs, the records of every later stage are dropped,
 * because their inputs change.
 */
export async function runPipeline(cfg: PipelineConfig, env: PipelineEnv, opts: PipelineRunOptions = {}, stages: readonly PipelineStage[] = MTDNN_STAGES): Promise<PipelineRunResult> {
  const { storage } = env;
  const order = stages.map((s) => s.id);
  const indexOf = (id: StageId) => {
    const i = order.indexOf(id);
    if (i < 0) throw new Error(`pipeline: unknown stage "${id}" (stages: ${order.join(', ')})`);
    return i;
  };
  const configJson = JSON.parse(JSON.stringify(cfg)) as unknown;
  let state = await loadState(storage);
  if (state && JSON.stringify(state.config) !== JSON.stringify(configJson)) {
    if (opts.from === undefined) {
      const old = (state.config ?? {}) as Record<string, unknown>;
      const now = configJson as Record<string, unknown>;
      const differ = Object.keys({ ...old, ...now }).filter((k) => JSON.stringify(old[k]) !== JSON.stringify(now[k]));
      throw new Error(`${storage.describe()}: this run was made with a different pipeline config (differs in: ${differ.join(', ')}); use another output folder, or redo from a stage with "from"`);
    }
    state.config = configJson;
  }
  state ??= { format: PIPELINE_STATE_FORMAT, config: configJson, done: {}, inProgress: {}, nextSlot: 0 };
  const save = () => storage.write(PIPELINE_STATE_FILE, json(state));
  const dropFrom = async (stageIndex: number, inclusive: boolean) => {
    const later = (k: string) => {
      const i = order.indexOf(stageOfKey(k));
      return i > stageIndex || (inclusive && i === stageIndex);
    };
    for (const k of Object.keys(state!.done)) if (later(k)) delete state!.done[k];
    for (const [k, slot] of Object.entries(state!.inProgress)) {
      if (!later(k)) continue;
      delete state!.inProgress[k];
      await env.trainStates?.remove?.(slot);
    }
  };
  if (opts.from !== undefined) await dropFrom(indexOf(opts.from), true);
  const last = opts.until === undefined ? stages.length - 1 : indexOf(opts.until);
  await save();

  const outputsPresent = async (rec: UnitRecord) => {
    for (const p of rec.outputs) if (!(await storage.exists(p))) return false;
    return true;
  };
  const result: PipelineRunResult = { ran: [], skipped: [] };
  for (let i = 0; i <= last; i++) {
    const stage = stages[i];
    if (!stage.enabled(cfg)) {
      env.onEvent?.({ type: 'stage', stage: stage.id, status: 'disabled' });
      continue;
    }
    const stageKey = `stage:${stage.id}`;
    const units = Object.entries(state.done).filter(([k]) => k !== stageKey && stageOfKey(k) === stage.id);
    if (state.done[stageKey] && (await Promise.all(units.map(([, r]) => outputsPresent(r)))).every(Boolean)) {
      result.skipped.push(stage.id);
      env.onEvent?.({ type: 'stage', stage: stage.id, status: 'skipped' });
      continue;
    }
    if (env.signal?.aborted) throw new Error('pipeline: stopped');
    delete state.done[stageKey];
    await dropFrom(i, false);
    await save();
    env.onEvent?.({ type: 'stage', stage: stage.id, status: 'start' });
    const ctx: StageContext = {
      cfg,
      env,
      storage,
      unit: async (key, fn) => {
        const rec = state!.done[key];
        if (rec && (await outputsPresent(rec))) {
          env.onEvent?.({ type: 'unit', key, status: 'skipped' });
          return;
        }
        delete state!.done[key];
        let slot = state!.inProgress[key];
        if (!slot) {
          slot = `${key}#${state!.nextSlot++}`;
          state!.inProgress[key] = slot;
          await save();
        }
        env.onEvent?.({ type: 'unit', key, status: 'start' });
        const outputs = await fn(slot);
        state!.done[key] = { at: new Date().toISOString(), outputs };
        delete state!.inProgress[key];
        await save();
        await env.trainStates?.remove?.(slot);
        env.onEvent?.({ type: 'unit', key, status: 'done' });
      },
    };
    await stage.run(ctx);
    state.done[stageKey] = { at: new Date().toISOString(), outputs: [] };
    await save();
    result.ran.push(stage.id);
    env.onEvent?.({ type: 'stage', stage: stage.id, status: 'done' });
  }
  return result;
}
