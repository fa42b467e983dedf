import * as tf from '@tensorflow/tfjs';
import { getTask } from '../../../../datasets/glueTasks.ts';
import type { SplitName, TaskName } from '../../../../datasets/types.ts';
import { loadBertCheckpoint } from '../../checkpoint/hfFolder.ts';
import type { Experiment } from '../../experiment/experimentSchema.ts';
import { combineSoftLabels, parseSoftLabels, type SoftLabels } from '../distillation.ts';
import { predictSplit, withDecision, type DecisionThreshold, type EvaluationResult, type SplitPredictions } from '../evaluate.ts';
import type { MultiTaskModel } from '../../model/multiTaskModel.ts';
import { modelFromExport } from '../trainedModel.ts';
import type { PipelineConfig } from '../pipelineConfig.ts';
import { requireText, runFolderSource, type RunStorage } from '../runStorage.ts';
import type { TaskSpec } from '../../model/taskSpec.ts';
import { Trainer, type TaskSplits } from '../trainer.ts';
import type { LossExtras } from '../trainStep.ts';
import { assembleRunData } from '../runData.ts';
import type { PipelineEnv, StageContext } from './types.ts';

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

export const devSplits = (task: TaskName) =>
  getTask(task)
    .splits.filter((s) => s.name.startsWith('dev') && s.labelled)
    .map((s) => s.name);
export const testSplits = (task: TaskName) =>
  getTask(task)
    .splits.filter((s) => s.name.startsWith('test'))
    .map((s) => s.name);

/** Each task's (subset) training split and first labelled dev split, as the trainer takes them. */
export const trainingData = (env: PipelineEnv, exp: Experiment): Promise<Record<string, TaskSplits>> =>
  assembleRunData(exp, env.loadSplit, { label: 'pipeline' });

export async function readKdTeachers(env: PipelineEnv, cfg: PipelineConfig, task: string): Promise<SoftLabels | null> {
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
export async function train(ctx: StageContext, run: string, slot: string, exp: Experiment, model: MultiTaskModel, lossExtras?: LossExtras) {
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
export async function loadRunModel(storage: RunStorage, folder: string, exp: Experiment): Promise<MultiTaskModel> {
  const ckpt = await loadBertCheckpoint(runFolderSource(storage, folder));
  return modelFromExport(ckpt, await requireText(storage, `${folder}/heads.json`, 'task heads'), exp, `${storage.describe()}/${folder}/heads.json`);
}

export function json(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

/**
 * Runs a fine-tuned model over one split; `spec` picks the head (AX goes through MNLI's). With a decision
 * threshold (thresholdHoldout) the class ids come from it, as the fine-tuning run's own evaluation scored them.
 */
export async function predictWith(
  ctx: StageContext,
  model: MultiTaskModel,
  spec: TaskSpec,
  task: TaskName,
  split: SplitName,
  exp: Experiment,
  decision?: DecisionThreshold,
): Promise<SplitPredictions | null> {
  const data = await ctx.env.loadSplit(task, split, exp.maxLength);
  if (!data) return null;
  return withDecision(spec, await predictSplit(model, spec, data, exp.evalBatchSize), decision);
}

/** The threshold the fine-tuning of `task` chose on its held-out training rows (finetune/<task>/metrics.json), if any. */
export async function fineTunedDecision(storage: RunStorage, task: string): Promise<DecisionThreshold | undefined> {
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
