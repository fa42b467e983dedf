import * as Comlink from 'comlink';
import * as tf from '@tensorflow/tfjs';
import { zipSync } from 'fflate';
import { getTask } from '../datasets/glueTasks.ts';
import { embeddingMap, stackFeatures, type EmbeddingMap } from '../src/engine/analysis/embeddingMap.ts';
import { pooledFeatures } from '../src/engine/analysis/pooledFeatures.ts';
import { loadBertCheckpoint } from '../src/engine/checkpoint/hfFolder.ts';
import { filesSource } from '../src/engine/checkpoint/modelSource.ts';
import type { BertCheckpoint } from '../src/engine/checkpoint/types.ts';
import { IdbShardStore } from '../src/engine/platform/browser/idbShardStore.ts';
import { ShardReader, type LoadedSplit } from '../src/engine/data/shardReader.ts';
import type { ShardKey } from '../src/engine/data/shardStore.ts';
import type { Experiment } from '../src/engine/experiment/experimentSchema.ts';
import { syntheticVocabText } from '../src/engine/synthetic/syntheticTasks.ts';
import { BertTokenizer } from '../src/engine/tokenizer/bertTokenizer.ts';
import { predictSplit } from '../src/engine/train/evaluate.ts';
import { exportCheckpointFiles } from '../src/engine/train/exportCheckpoint.ts';
import { IdbTrainStateStore } from '../src/engine/platform/browser/idbTrainStateStore.ts';
import type { MultiTaskModel } from '../src/engine/model/multiTaskModel.ts';
import { buildSubmissionZip, type SubmissionPredictions } from '../src/engine/train/submission.ts';
import { assignVariables, decodeTrainState } from '../src/engine/train/trainState.ts';
import { Trainer, type TaskSplits } from '../src/engine/train/trainer.ts';
import { parseSelectionConfig } from '../src/engine/selection/selectionConfig.ts';
import type { SelectionResult } from '../src/engine/selection/selectionResult.ts';
import { parseAppExperiment } from '../src/urlState/appExperiment.ts';
import { backendReport, setupBrowserBackend, type BackendReport, type BackendRequest } from './browserBackend.ts';
import { configJsonOf, freshModel, modelFromConfig, specsFor } from './trainer/buildModel.ts';
import { LiveRun } from './trainer/liveRun.ts';
import { loadCachedCheckpoint } from './trainer/modelCache.ts';
import { deleteRun, getRun, listRuns, putRun } from './trainer/runStore.ts';
import { importTorchRunFiles } from './trainer/importTorchRun.ts';
import { loadRunData } from './trainer/runData.ts';
import { SelectionJob } from './trainer/selectionJob.ts';
import { workerSelectionEnv, type EncoderInit } from './trainer/selectionEnv.ts';
import { syntheticTokenizer } from './trainer/syntheticData.ts';
import type {
  EmbeddingRequest,
  ImportanceState,
  ModelFrom,
  PreparedModel,
  RunRecord,
  RunSummary,
  RunUpdate,
  SelectionProgress,
  SelectionRequest,
  StartRunRequest,
} from './trainer/types.ts';

/**
 * The trainer worker: owns tfjs and the run storage in IndexedDB, and adapts the engine's Trainer to the page.
 * The page sends plain data (experiment, data keys, files) and receives plain data (summaries, loss points,
 * matrices, zip bytes); no tensor ever crosses.
 */

type UpdateSink = (u: RunUpdate) => void;
type Progress = (loaded: number, total: number | undefined) => void;

const ORDERS: Record<Experiment['backend'], BackendRequest> = {
  auto: 'auto',
  webgpu: ['webgpu', 'wasm', 'cpu'],
  wasm: ['wasm', 'cpu'],
  cpu: ['cpu'],
};

let backendKey: string | null = null;
let backendReady: Promise<BackendReport> | null = null;
let prepared: { key: string; checkpoint: BertCheckpoint; info: PreparedModel } | null = null;
let live: LiveRun | null = null;
let shardStore: Promise<IdbShardStore> | null = null;
/** The auxiliary-task selection in progress (it shares tfjs and the CPU with training: one at a time). */
let selecting: SelectionJob | null = null;

function ensureBackend(pref: Experiment['backend']): Promise<BackendReport> {
  // Asking again for the active request keeps it (and its tensors). Setups run one after another: two
  // interleaved tf.setBackend calls report each other's backend.
  const key = String(ORDERS[pref]);
  if (backendKey !== key || !backendReady) {
    backendKey = key;
    const previous = backendReady ?? Promise.resolve(null);
    backendReady = previous.catch(() => null).then(() => setupBrowserBackend(ORDERS[pref]));
    backendReady.catch(() => {
      if (backendKey === key) backendKey = null;
    });
  }
  return backendReady;
}

const shards = () => (shardStore ??= IdbShardStore.open());

function modelKey(from: ModelFrom): string {
  if (from.kind === 'url') return `url:${from.base}`;
  if (from.kind === 'files') return `files:${(from.paths ?? from.files.map((f) => f.name)).join('|')}:${from.files.map((f) => f.size).join(',')}`;
  return 'random';
}

async function prepare(from: ModelFrom, onProgress?: Progress): Promise<{ checkpoint: BertCheckpoint; info: PreparedModel }> {
  const key = modelKey(from);
  if (prepared?.key === key) return prepared;
  let checkpoint: BertCheckpoint;
  let fromCache = false;
  if (from.kind === 'url') {
    ({ checkpoint, fromCache } = await loadCachedCheckpoint(from.base, onProgress));
  } else if (from.kind === 'files') {
    if (from.paths && from.paths.length !== from.files.length) throw new Error(`prepareModel: ${from.files.length} files but ${from.paths.length} paths`);
    checkpoint = await loadBertCheckpoint(
      filesSource(new Map(from.files.map((f, i) => [from.paths?.[i] || f.name, f] as const))),
      onProgress ? { onProgress } : {},
    );
  } else {
    throw new Error('prepareModel: a random model needs no preparation');
  }
  const tok = BertTokenizer.fromVocabText(checkpoint.vocabText, { doLowerCase: checkpoint.doLowerCase, source: `${checkpoint.origin}/vocab.txt` });
  const c = checkpoint.config;
  const info: PreparedModel = {
    origin: checkpoint.origin,
    layers: c.numHiddenLayers,
    heads: c.numAttentionHeads,
    hidden: c.hiddenSize,
    vocabSize: c.vocabSize,
    doLowerCase: checkpoint.doLowerCase,
    vocabText: checkpoint.vocabText,
    vocabHash: await tok.vocabHash(),
    fromCache,
  };
  prepared = { key, checkpoint, info };
  return prepared;
}

async function loadShard(key: ShardKey): Promise<LoadedSplit> {
  return (await ShardReader.open(await shards(), key)).loadAll();
}

function newRunId(): string {
  return `run-${Date.now().toString(36)}-${Math.floor(Math.random() * 36 ** 4)
    .toString(36)
    .padStart(4, '0')}`;
}

function checkIdle(): void {
  if (live && !live.finished) throw new Error(`run ${live.id} is still in progress: stop it first`);
  if (selecting) throw new Error(`a ${selecting.selection.method} selection for ${selecting.selection.target} is in progress: stop it first`);
}

/** The initial weights of a new run or selection: random ones of the experiment's shape (synthetic vocabulary only), or a loaded checkpoint. */
async function encoderInit(exp: Experiment, from: ModelFrom): Promise<{ init: EncoderInit; vocabText: string; doLowerCase: boolean; origin: string }> {
  if (from.kind === 'random') {
    if (exp.model.kind !== 'random' || exp.model.vocab !== 'synthetic') {
      throw new Error('a random encoder is only available with the synthetic vocabulary here (model.vocab "synthetic"); load a model folder for GLUE');
    }
    return {
      init: { vocabSize: syntheticTokenizer().vocabSize },
      vocabText: syntheticVocabText(),
      doLowerCase: true,
      origin: `random ${exp.model.layers}×${exp.model.heads}, H=${exp.model.hidden}`,
    };
  }
  const p = await prepare(from);
  return { init: { checkpoint: p.checkpoint }, vocabText: p.checkpoint.vocabText, doLowerCase: p.checkpoint.doLowerCase, origin: p.info.origin };
}

/** Frees the previous run's model (kept after it ends so exports and maps need no rebuild). */
function disposeLive(): void {
  if (live && live.finished) {
    live.trainer.dispose();
    live.model.dispose();
    live = null;
  }
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
  live = run;
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

/** A model with a run's latest saved weights: the live one when the run has ended, else rebuilt from IndexedDB. */
async function modelOfRun(id: string): Promise<{ model: MultiTaskModel; record: RunRecord; owned: boolean }> {
  if (live && live.id === id && live.finished) return { model: live.model, record: live.record, owned: false };
  const record = await getRun(id);
  if (!record) throw new Error(`no run ${id} in this browser's storage`);
  await ensureBackend(record.experiment.backend);
  const store = await IdbTrainStateStore.open(id);
  const stored = await store.load();
  store.close();
  if (!stored) throw new Error(`run ${id} has no saved checkpoint`);
  const state = decodeTrainState(stored, `run ${id} checkpoint`);
  const model = modelFromConfig(record.experiment, record.configJson);
  try {
    assignVariables(model.namedVariables(), state.model, `run ${id} checkpoint`);
  } catch (e) {
    model.dispose();
    throw e;
  }
  return { model, record, owned: true };
}

const safeName = (s: string) => s.replace(/[^\w.-]+/g, '-').slice(0, 80) || 'run';

const api = {
  async init(pref: Experiment['backend'] = 'auto'): Promise<BackendReport> {
    return ensureBackend(pref);
  },

  backendInfo(): BackendReport {
    return backendReport();
  },

  /** Loads (and caches) a model folder; the page needs its vocabulary to build token shards. */
  async prepareModel(from: ModelFrom, onProgress?: Progress): Promise<PreparedModel> {
    if (from.kind === 'random') {
      const tok = syntheticTokenizer();
      return {
        origin: 'random (synthetic vocabulary)',
        layers: 0,
        heads: 0,
        hidden: 0,
        vocabSize: tok.vocabSize,
        doLowerCase: true,
        vocabText: syntheticVocabText(),
        vocabHash: await tok.vocabHash(),
        fromCache: false,
      };
    }
    return (await prepare(from, onProgress)).info;
  },

  /** Starts a run and returns at once; `onUpdate` (a Comlink.proxy) receives batched progress. */
  async startRun(req: StartRunRequest, onUpdate: UpdateSink): Promise<RunSummary> {
    checkIdle();
    const exp = parseAppExperiment(req.experiment, 'run request');
    await ensureBackend(exp.backend);
    disposeLive();
    const splits = await loadRunData(exp, req.data, loadShard);
    const { init, vocabText, doLowerCase, origin } = await encoderInit(exp, req.model);
    const model = freshModel(exp, init);
    const c = model.encoder.config;
    const now = new Date().toISOString();
    const record: RunRecord = {
      id: newRunId(),
      name: exp.name,
      createdAt: now,
      updatedAt: now,
      status: 'preparing',
      experiment: exp,
      model: { origin, layers: c.numHiddenLayers, heads: c.numAttentionHeads, hidden: c.hiddenSize, vocabSize: c.vocabSize },
      dataKind: req.data.kind,
      backend: tf.getBackend(),
      step: 0,
      totalSteps: 0,
      checkpointStep: null,
      evaluation: null,
      importance: null,
      correlation: null,
      lr: 0,
      examplesPerSec: 0,
      etaSeconds: 0,
      elapsedSeconds: 0,
      losses: [],
      data: req.data,
      options: req.options,
      configJson: configJsonOf(model),
      vocabText,
      doLowerCase,
    };
    return launch(record, model, splits, onUpdate, false);
  },

  /** Continues a stored run from its last checkpoint (after a reload, or a stop). */
  async resumeRun(id: string, onUpdate: UpdateSink): Promise<RunSummary> {
    checkIdle();
    const record = await getRun(id);
    if (!record) throw new Error(`no run ${id} in this browser's storage`);
    const exp = parseAppExperiment(record.experiment, `run ${id}`);
    await ensureBackend(exp.backend);
    disposeLive();
    const splits = await loadRunData(exp, record.data, loadShard);
    const model = modelFromConfig(exp, record.configJson);
    record.message = undefined;
    return launch({ ...record, experiment: exp }, model, splits, onUpdate, true);
  },

  /**
   * Auxiliary-task selection (GradTS-trial, GradTS-fg, FastMTL, random) over the experiment's tasks, on the
   * data and initial model a training run of the same experiment would use; `onProgress` (a Comlink.proxy)
   * receives log lines and step ticks. Resolves with the result JSON; rejects with "selection stopped" after
   * `stopSelection()`.
   */
  async runSelection(req: SelectionRequest, onProgress: (p: SelectionProgress) => void): Promise<SelectionResult> {
    checkIdle();
    const exp = parseAppExperiment(req.experiment, 'selection request');
    const selection = parseSelectionConfig(req.selection, 'selection request: selection');
    const send = (p: SelectionProgress) => {
      Promise.resolve(onProgress(p)).catch(() => {
        // The page went away; the selection still finishes (and its result is dropped).
      });
    };
    const job = new SelectionJob(exp, selection, send);
    selecting = job;
    try {
      await ensureBackend(exp.backend);
      send({
        line: `${selection.method} for ${selection.target} on ${tf.getBackend()}: loading ${req.data.kind} data and the initial model`,
        elapsedSeconds: 0,
      });
      const { init } = await encoderInit(exp, req.model);
      const data = await loadRunData(exp, req.data, loadShard);
      return await job.run(workerSelectionEnv(exp, data, init));
    } finally {
      selecting = null;
    }
  },

  stopSelection(): void {
    selecting?.stop();
  },

  pause(): void {
    live?.pause();
  },

  resume(): void {
    live?.resume();
  },

  stop(): void {
    live?.stop();
  },

  /** The live (or last) run's summary, or null. */
  current(): RunSummary | null {
    return live ? summaryNow(live) : null;
  },

  /** The head importance the worker holds for the live (or last) run: what the Heads view must show. */
  importance(): ImportanceState | null {
    return live?.record.importance ?? null;
  },

  async listRuns(): Promise<RunSummary[]> {
    const runs = await listRuns();
    // The live run's record in storage lags behind by up to one checkpoint.
    return runs.map((r) => (live && live.id === r.id ? summaryNow(live) : r));
  },

  /** A stored run with its loss curve (without the vocabulary). */
  async getRun(id: string): Promise<(RunSummary & { losses: RunRecord['losses'] }) | null> {
    const r = live && live.id === id ? live.record : await getRun(id);
    if (!r) return null;
    const { data: _d, options: _o, configJson: _c, vocabText: _v, doLowerCase: _dl, ...rest } = r;
    return structuredClone(rest);
  },

  async deleteRun(id: string): Promise<void> {
    if (live && live.id === id) {
      if (!live.finished) throw new Error(`run ${id} is in progress: stop it first`);
      disposeLive();
    }
    await deleteRun(id);
    const store = await IdbTrainStateStore.open(id);
    await store.delete();
    store.close();
  },

  /** The run's latest weights as an HF folder (config.json, vocab.txt, model.safetensors, heads.json, …) zipped. */
  /** A run trained by an export-torch folder (its files by path inside the folder) stored as a run of this browser. */
  /** A train.py run folder (paths inside it → contents); head importance and correlation are computed here on its checkpoint. */
  async importTorchRun(files: [string, Blob][]): Promise<RunRecord> {
    const record = await importTorchRunFiles(new Map(files), `torch-${Date.now().toString(36)}`);
    await putRun(record);
    return record;
  },

  async exportCheckpoint(id: string): Promise<{ fileName: string; zip: Uint8Array }> {
    const { model, record, owned } = await modelOfRun(id);
    try {
      const files = await exportCheckpointFiles(model, {
        experiment: record.experiment,
        vocabText: record.vocabText,
        doLowerCase: record.doLowerCase,
        metrics: record.evaluation ?? undefined,
      });
      const folder = safeName(`${record.name}-${record.id}`);
      const zip = zipSync(Object.fromEntries([...files].map(([name, bytes]) => [`${folder}/${name}`, bytes])));
      return Comlink.transfer({ fileName: `${folder}.zip`, zip }, [zip.buffer as ArrayBuffer]);
    } finally {
      if (owned) model.dispose();
    }
  },

  /** GLUE submission zip from the run's model over cached test shards (partial when some test sets are missing). */
  async exportSubmission(id: string, testKeys: ShardKey[]): Promise<{ zip: Uint8Array; files: string[]; missing: string[]; warnings: string[] }> {
    const { model, record, owned } = await modelOfRun(id);
    try {
      const specs = specsFor(record.experiment);
      const preds: SubmissionPredictions[] = [];
      for (const key of testKeys) {
        const spec = specs[key.task];
        if (!spec) throw new Error(`the run has no head for ${key.task}`);
        getTask(key.task);
        const p = await predictSplit(model, spec, await loadShard(key), record.experiment.evalBatchSize);
        preds.push({ task: key.task, split: key.split, uids: p.uids, predictions: p.predictions });
      }
      const sub = buildSubmissionZip(preds, { allowPartial: true });
      return Comlink.transfer({ zip: sub.zip, files: [...sub.files.keys()], missing: sub.missing, warnings: sub.warnings }, [sub.zip.buffer as ArrayBuffer]);
    } finally {
      if (owned) model.dispose();
    }
  },

  /** A UMAP of pooled [CLS] features of dev rows, coloured by task (FastMTL's figure), computed here. */
  async embeddings(id: string, req: EmbeddingRequest, onProgress?: (done: number, total: number) => void): Promise<EmbeddingMap> {
    const { model, record, owned } = await modelOfRun(id);
    try {
      const splits = await loadRunData(record.experiment, record.data, loadShard, { devOnly: true });
      const parts = [];
      for (const t of record.experiment.tasks) {
        const s = splits[t.name].dev ?? splits[t.name].train;
        const n = Math.min(req.rowsPerTask, s.rows);
        const f = await pooledFeatures(model.encoder, s, {
          rows: Array.from({ length: n }, (_, i) => i),
          taskId: model.taskId(t.name),
          batchSize: record.experiment.evalBatchSize,
        });
        parts.push({ task: t.name, uids: f.uids, values: f.values, dim: f.dim });
      }
      const epochs = 200;
      return await embeddingMap(stackFeatures(parts), { seed: req.seed, nEpochs: epochs, onEpoch: (e) => void onProgress?.(e, epochs) });
    } finally {
      if (owned) model.dispose();
    }
  },
};

export type TrainerWorkerApi = typeof api;

Comlink.expose(api);
