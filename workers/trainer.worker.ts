import * as Comlink from 'comlink';
import type { Experiment } from '../src/engine/experiment/experimentSchema.ts';
import { backendReport, type BackendReport } from './browserBackend.ts';
import { ensureBackend } from './trainer/backendSession.ts';
import { prepareModel } from './trainer/preparedModel.ts';
import { current, deleteRun, getRun, importance, listRuns, pause, resume, resumeRun, startRun, stop } from './trainer/runLifecycle.ts';
import { embeddings, exportCheckpoint, exportSubmission, modelOfRun } from './trainer/runOutputs.ts';
import { runSelection, stopSelection } from './trainer/selectionRequest.ts';
import { importTorchRun } from './trainer/torchImport.ts';
import { exportTorchRun } from './trainer/torchExportRun.ts';
import { loadShard } from './trainer/shardAccess.ts';

/**
 * The trainer worker: owns tfjs and the run storage in IndexedDB, and adapts the engine's Trainer to the page.
 * The page sends plain data (experiment, data keys, files) and receives plain data (summaries, loss points,
 * matrices, zip bytes); no tensor ever crosses. Each job lives in its module under `trainer/`: the backend
 * (`backendSession`), model folders (`preparedModel`), a run's life (`runLifecycle`), what a run's weights
 * give (`runOutputs`: checkpoint, submission, embedding map), selection (`selectionRequest`) and PyTorch runs
 * (`torchImport`).
 */
const api = {
  async init(pref: Experiment['backend'] = 'auto'): Promise<BackendReport> {
    return ensureBackend(pref);
  },

  backendInfo(): BackendReport {
    return backendReport();
  },

  prepareModel,
  startRun,
  resumeRun,
  runSelection,
  stopSelection,
  pause,
  resume,
  stop,
  current,
  importance,
  listRuns,
  getRun,
  deleteRun,
  importTorchRun,
  exportTorchRun,
  exportCheckpoint,
  exportSubmission,
  embeddings,
  attention: async (id: string, req: import('./trainer/attentionExample.ts').AttentionRequest) =>
    (await import('./trainer/attentionExample.ts')).attentionOfRun(modelOfRun, loadShard, id, req),
};

export type TrainerWorkerApi = typeof api;

Comlink.expose(api);
