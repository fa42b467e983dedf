import * as Comlink from 'comlink';
import type { SelectionResult } from '../../engine/selection/selectionResult.ts';
import type { SelectionProgress, SelectionRequest } from '../../../workers/trainer/types.ts';
import type { TrainerClient } from './trainerClient.ts';

/** Auxiliary-task selection in the trainer worker; the page sends plain data and gets the result JSON back. */

export function runSelection(client: TrainerClient, req: SelectionRequest, onProgress: (p: SelectionProgress) => void): Promise<SelectionResult> {
  return client.api.runSelection(req, Comlink.proxy(onProgress));
}

/** Asks the running selection to stop; its `runSelection` promise then rejects with "selection stopped". */
export function stopSelection(client: TrainerClient): Promise<void> {
  return client.api.stopSelection();
}
