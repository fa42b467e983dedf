import * as tf from '@tensorflow/tfjs';
import { newRunRecord } from './newRunRecord.ts';
import type { MultiTaskModel } from '../../src/engine/model/multiTaskModel.ts';
import { IdbTrainStateStore } from '../../src/engine/platform/browser/idbTrainStateStore.ts';
import { Trainer, type TaskSplits } from '../../src/engine/train/trainer.ts';
import { parseAppExperiment } from '../../src/urlState/appExperiment.ts';
import { ensureBackend } from './backendSession.ts';
import { configJsonOf, freshModel, modelFromConfig } from './buildModel.ts';
import { LiveRun } from './liveRun.ts';
import { encoderInit } from './preparedModel.ts';
import { deleteRun as deleteStoredRun, getRun as getStoredRun, listRuns as listStoredRuns, putRun } from './runStore.ts';
import { loadRunData } from './runData.ts';
import { loadShard } from './shardAccess.ts';
import type { ImportanceState, RunRecord, RunSummary, RunUpdate, StartRunRequest } from './types.ts';
import { checkIdle, disposeLive, session } from './workerSession.ts';

/** A run's life in the worker: start, resume, pause/stop, and its summary and record for the page. */

export type UpdateSink = (u: RunUpdate) => void;

function newRunId(): string {
  return `run-${Date.now().toString(36)}-${Math.floor(Math.random() * 36 ** 4)
    .toString(36)
    .padStart(4, '0')}`;
}

async function launch(
  record: RunRecord,
  model: MultiTaskModel,
  splits: Record<string, TaskSplits>,
  onUpdate: UpdateSink,
  resume: boolean,
): Promise<RunSummary> {
  // The run's Web Lock: a second tab cannot train (and overwrite the state of) the same run meanwhile.
  const store = await IdbTrainStateStore.open(record.id, undefined, { writer: true });
  let run: LiveRun | null = null;
  const trainer = new Trainer({ experiment: record.experiment, model, data: splits, store, onEvent: (e) => run?.handle(e) });
  try {
    if (resume) {
      const restored = await trainer.restoreFromStore();
      if (!restored && record.experiment.model.kind !== 'random') {
        throw new Error(`run ${record.id} has no saved checkpoint to resume from (none was saved before the page closed); start it again`);
      }
      record.losses = record.losses.filter((p) => p.step <= trainer.step);
      record.step = trainer.step;
      record.checkpointStep = restored ? trainer.step : null;
      if (record.importance && record.importance.step > trainer.step) record.importance = null;
      if (record.correlation && record.correlation.step > trainer.step) record.correlation = null;
    }
  } catch (e) {
    trainer.dispose();
    model.dispose();
    store.close();
    throw e;
  }
  const safeUpdate: UpdateSink = (u) => {
    Promise.resolve(onUpdate(u)).catch(() => {
      // The page went away; the run keeps its IndexedDB record up to date regardless.
    });
  };
  run = new LiveRun(record, trainer, model, splits, safeUpdate);
  record.totalSteps = trainer.totalSteps;
  record.backend = tf.getBackend();
  record.status = 'running';
  await putRun(structuredClone(record));
  session.live = run;
  const current = run;
  void current
    .run({ resetLosses: resume })
    .catch((e) => {
      current.record.status = 'failed';
      current.record.message = (e as Error).message;
      void putRun(structuredClone(current.record)).catch(() => {});
      safeUpdate({ summary: summaryNow(current), newLosses: [] });
    })
    .finally(() => store.close());
  return summaryNow(run);
}

function summaryNow(run: LiveRun): RunSummary {
  const { losses: _l, data: _d, options: _o, configJson: _c, vocabText: _v, doLowerCase: _dl, ...s } = run.record;
  return structuredClone(s);
}

/** Starts a run and returns at once; `onUpdate` (a Comlink.proxy) receives batched progress. */
export async function startRun(req: StartRunRequest, onUpdate: UpdateSink): Promise<RunSummary> {
  checkIdle();
  const exp = parseAppExperiment(req.experiment, 'run request');
  await ensureBackend(exp.backend);
  disposeLive();
  const splits = await loadRunData(exp, req.data, loadShard);
  const { init, vocabText, doLowerCase, origin } = await encoderInit(exp, req.model);
  const model = freshModel(exp, init);
  const c = model.encoder.config;
  const record = newRunRecord({
    id: newRunId(),
    name: exp.name,
    experiment: exp,
    model: { origin, layers: c.numHiddenLayers, heads: c.numAttentionHeads, hidden: c.hiddenSize, vocabSize: c.vocabSize },
    dataKind: req.data.kind,
    backend: tf.getBackend(),
    data: req.data,
    options: req.options,
    configJson: configJsonOf(model),
    vocabText,
    doLowerCase,
  });
  return launch(record, model, splits, onUpdate, false);
}

/** Continues a stored run from its last checkpoint (after a reload, or a stop). */
export async function resumeRun(id: string, onUpdate: UpdateSink): Promise<RunSummary> {
  checkIdle();
  const record = await getStoredRun(id);
  if (!record) throw new Error(`no run ${id} in this browser's storage`);
  const exp = parseAppExperiment(record.experiment, `run ${id}`);
  await ensureBackend(exp.backend);
  disposeLive();
  const splits = await loadRunData(exp, record.data, loadShard);
  const model = modelFromConfig(exp, record.configJson);
  record.message = undefined;
  return launch({ ...record, experiment: exp }, model, splits, onUpdate, true);
}

export function pause(): void {
  session.live?.pause();
}

export function resume(): void {
  session.live?.resume();
}

export function stop(): void {
  session.live?.stop();
}

/** The live (or last) run's summary, or null. */
export function current(): RunSummary | null {
  return session.live ? summaryNow(session.live) : null;
}

/** The head importance the worker holds for the live (or last) run: what the Heads view must show. */
export function importance(): ImportanceState | null {
  return session.live?.record.importance ?? null;
}

export async function listRuns(): Promise<RunSummary[]> {
  const runs = await listStoredRuns();
  const { live } = session;
  // The live run's record in storage lags behind by up to one checkpoint.
  return runs.map((r) => (live && live.id === r.id ? summaryNow(live) : r));
}

/** A stored run with its loss curve (without the vocabulary). */
export async function getRun(id: string): Promise<(RunSummary & { losses: RunRecord['losses'] }) | null> {
  const { live } = session;
  const r = live && live.id === id ? live.record : await getStoredRun(id);
  if (!r) return null;
  const { data: _d, options: _o, configJson: _c, vocabText: _v, doLowerCase: _dl, ...rest } = r;
  return structuredClone(rest);
}

export async function deleteRun(id: string): Promise<void> {
  const { live } = session;
  if (live && live.id === id) {
    if (!live.finished) throw new Error(`run ${id} is in progress: stop it first`);
    disposeLive();
  }
  await deleteStoredRun(id);
  const store = await IdbTrainStateStore.open(id);
  await store.delete();
  store.close();
}
