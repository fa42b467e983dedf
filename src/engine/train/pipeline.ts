import type { PipelineConfig } from './pipelineConfig.ts';
import { readText, type RunStorage } from './runStorage.ts';
import {
  PIPELINE_STATE_FILE,
  PIPELINE_STATE_FORMAT,
  type PipelineEnv,
  type PipelineRunOptions,
  type PipelineStage,
  type PipelineState,
  type StageContext,
  type StageId,
  type UnitRecord,
} from './pipeline/types.ts';
import { json } from './pipeline/stageHelpers.ts';
import { mtlStage } from './pipeline/mtlStage.ts';
import { stripStage } from './pipeline/stripStage.ts';
import { finetuneStage } from './pipeline/finetuneStage.ts';
import { evaluateStage } from './pipeline/evaluateStage.ts';
import { predictStage } from './pipeline/predictStage.ts';
import { submitStage } from './pipeline/submitStage.ts';
export {
  PIPELINE_STATE_FILE,
  PIPELINE_STATE_FORMAT,
  SUBMISSION_ZIP,
  type InitialModel,
  type PipelineEnv,
  type PipelineEvent,
  type PipelineRunOptions,
  type PipelineStage,
  type StageId,
} from './pipeline/types.ts';
export { parsePredictionsJsonl, predictionsJsonl, type PredictionRecord } from './pipeline/predictionsFile.ts';
export { combineLossExtras } from './pipeline/stageHelpers.ts';

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
 *
 * This file is the runner; each stage is one file in pipeline/ (`<id>Stage.ts`), their shared types in
 * pipeline/types.ts and helpers in pipeline/stageHelpers.ts. The re-exports above are the pipeline's API.
 */

/** The MT-DNN recipe, in order. */
export const MTDNN_STAGES: readonly PipelineStage[] = [mtlStage, stripStage, finetuneStage, evaluateStage, predictStage, submitStage];

async function loadState(storage: RunStorage): Promise<PipelineState | null> {
  const text = await readText(storage, PIPELINE_STATE_FILE);
  if (text === null) return null;
  let s: PipelineState;
  try {
    s = JSON.parse(text) as PipelineState;
  } catch (e) {
    throw new Error(`${storage.describe()}/${PIPELINE_STATE_FILE}: not valid JSON (${(e as Error).message})`);
  }
  if (s?.format !== PIPELINE_STATE_FORMAT)
    throw new Error(`${storage.describe()}/${PIPELINE_STATE_FILE}: not a Taskscope pipeline state (format ${JSON.stringify(s?.format)})`);
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
export async function runPipeline(
  cfg: PipelineConfig,
  env: PipelineEnv,
  opts: PipelineRunOptions = {},
  stages: readonly PipelineStage[] = MTDNN_STAGES,
): Promise<PipelineRunResult> {
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
      throw new Error(
        `${storage.describe()}: this run was made with a different pipeline config (differs in: ${differ.join(', ')}); use another output folder, or redo from a stage with "from"`,
      );
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
