import * as tf from '@tensorflow/tfjs';
import { parseSelectionConfig } from '../../src/engine/selection/selectionConfig.ts';
import type { SelectionResult } from '../../src/engine/selection/selectionResult.ts';
import { parseAppExperiment } from '../../src/urlState/appExperiment.ts';
import { ensureBackend } from './backendSession.ts';
import { encoderInit } from './preparedModel.ts';
import { loadRunData } from './runData.ts';
import { SelectionJob } from './selectionJob.ts';
import { workerSelectionEnv } from './selectionEnv.ts';
import { loadShard } from './shardAccess.ts';
import type { SelectionProgress, SelectionRequest } from './types.ts';
import { checkIdle, session } from './workerSession.ts';

/**
 * Auxiliary-task selection (GradTS-trial, GradTS-fg, FastMTL, random) over the experiment's tasks, on the
 * data and initial model a training run of the same experiment would use; `onProgress` (a Comlink.proxy)
 * receives log lines and step ticks. Resolves with the result JSON; rejects with "selection stopped" after
 * `stopSelection()`.
 */
export async function runSelection(req: SelectionRequest, onProgress: (p: SelectionProgress) => void): Promise<SelectionResult> {
  checkIdle();
  const exp = parseAppExperiment(req.experiment, 'selection request');
  const selection = parseSelectionConfig(req.selection, 'selection request: selection');
  const send = (p: SelectionProgress) => {
    Promise.resolve(onProgress(p)).catch(() => {
      // The page went away; the selection still finishes (and its result is dropped).
    });
  };
  const job = new SelectionJob(exp, selection, send);
  session.selecting = job;
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
    session.selecting = null;
  }
}

export function stopSelection(): void {
  session.selecting?.stop();
}
