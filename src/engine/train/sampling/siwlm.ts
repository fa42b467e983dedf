/** SIWLM's per-batch multiplier α (SIWLM `train.py`, docs/methods.md §2.2). */

/** Batches per focus window in the sequential (even-epoch) phase. */
export const SIWLM_WINDOW = 20;
/** α of every batch outside the focus. */
export const SIWLM_OFF_FOCUS_ALPHA = 0.1;

function checkTask(taskId: number, numTasks: number): void {
  if (!Number.isInteger(numTasks) || numTasks < 1) throw new Error(`siwlm: numTasks must be an integer >= 1, got ${numTasks}`);
  if (!Number.isInteger(taskId) || taskId < 0 || taskId >= numTasks) {
    throw new Error(`siwlm: taskId must be an integer in [0, ${numTasks}), got ${taskId}`);
  }
}

/** The task in focus for the b-th batch (0-based) of an even epoch: floor((b mod 20T) / 20). */
export function siwlmFocusTask(batchIndexInEpoch: number, numTasks: number): number {
  return Math.floor((batchIndexInEpoch % (SIWLM_WINDOW * numTasks)) / SIWLM_WINDOW);
}

/**
 * α for a batch: even epochs ("sequential") give 1 to the task in the current 20-batch focus window and 0.1 to
 * the rest; odd epochs ("intensive") give 1 to the central task 0 and 0.1 to the rest.
 */
export function siwlmAlpha(epoch: number, batchIndexInEpoch: number, taskId: number, numTasks: number): number {
  checkTask(taskId, numTasks);
  if (!Number.isInteger(epoch) || epoch < 0) throw new Error(`siwlm: epoch must be an integer >= 0, got ${epoch}`);
  if (!Number.isInteger(batchIndexInEpoch) || batchIndexInEpoch < 0) {
    throw new Error(`siwlm: batchIndexInEpoch must be an integer >= 0, got ${batchIndexInEpoch}`);
  }
  const favoured = epoch % 2 === 0 ? siwlmFocusTask(batchIndexInEpoch, numTasks) : 0;
  return taskId === favoured ? 1 : SIWLM_OFF_FOCUS_ALPHA;
}

/** The loss weight of a batch: the task's yml task_weight times α (nothing normalises it, docs/methods.md §2.3). */
export function siwlmWeight(taskWeight: number, alpha: number): number {
  return taskWeight * alpha;
}

export interface SiwlmCounterState {
  epoch: number;
  iteration: number;
}

/**
 * The `iteration` counter of SIWLM's train loop, batch by batch: reset per epoch, advanced only in even
 * epochs, wrapped to 0 when it reaches 20·T before the focus is read. Its state goes into checkpoints.
 */
export class SiwlmAlphaCounter {
  private epoch = 0;
  private iteration = 0;

  constructor(readonly numTasks: number) {
    checkTask(0, numTasks);
  }

  startEpoch(epoch: number): void {
    if (!Number.isInteger(epoch) || epoch < 0) throw new Error(`siwlm: epoch must be an integer >= 0, got ${epoch}`);
    this.epoch = epoch;
    this.iteration = 0;
  }

  /** α for the next batch of the epoch, whose task is taskId. */
  next(taskId: number): number {
    checkTask(taskId, this.numTasks);
    if (this.epoch % 2 !== 0) return taskId === 0 ? 1 : SIWLM_OFF_FOCUS_ALPHA;
    if (this.iteration === SIWLM_WINDOW * this.numTasks) this.iteration = 0;
    const focus = Math.floor(this.iteration / SIWLM_WINDOW);
    this.iteration += 1;
    return taskId === focus ? 1 : SIWLM_OFF_FOCUS_ALPHA;
  }

  getState(): SiwlmCounterState {
    return { epoch: this.epoch, iteration: this.iteration };
  }

  setState({ epoch, iteration }: SiwlmCounterState): void {
    if (!Number.isInteger(epoch) || epoch < 0) throw new Error(`siwlm counter state: epoch must be an integer >= 0, got ${epoch}`);
    if (!Number.isInteger(iteration) || iteration < 0 || iteration > SIWLM_WINDOW * this.numTasks) {
      throw new Error(`siwlm counter state: iteration must be an integer in [0, ${SIWLM_WINDOW * this.numTasks}], got ${iteration}`);
    }
    this.epoch = epoch;
    this.iteration = iteration;
  }
}
