import type { LiveRun } from './liveRun.ts';
import type { SelectionJob } from './selectionJob.ts';

/**
 * What occupies the worker: the live (or last) run, kept after it ends so exports and maps need no rebuild,
 * and the auxiliary-task selection in progress (it shares tfjs and the CPU with training: one at a time).
 */
export const session: { live: LiveRun | null; selecting: SelectionJob | null } = { live: null, selecting: null };

export function checkIdle(): void {
  const { live, selecting } = session;
  if (live && !live.finished) throw new Error(`run ${live.id} is still in progress: stop it first`);
  if (selecting) throw new Error(`a ${selecting.selection.method} selection for ${selecting.selection.target} is in progress: stop it first`);
}

/** Frees the previous run's model (kept after it ends so exports and maps need no rebuild). */
export function disposeLive(): void {
  const { live } = session;
  if (live && live.finished) {
    live.trainer.dispose();
    live.model.dispose();
    session.live = null;
  }
}
