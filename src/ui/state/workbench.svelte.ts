import type { BackendReport } from '../../../workers/browserBackend.ts';
import { createTrainerClient, type TrainerClient } from '../clients/trainerClient.ts';
import { errorMessage } from '../clients/modelClient.ts';
import { DataStore } from './dataStore.svelte.ts';
import { ExportStore } from './exportStore.ts';
import { JobList } from './jobs.svelte.ts';
import { RunStore } from './runStore.svelte.ts';
import { SelectionRun } from './selectionRun.svelte.ts';
import { UrlStore } from './urlStore.svelte.ts';

/**
 * The page's state and actions, one store per job: `url` (what the address bar mirrors), `data` (the model and
 * data a run reads), `runs` (live and stored runs, which results are shown) and `exports` (links, submissions).
 * Views read the stores; every computation happens in the workers, the stores only move plain data between
 * them and the views. This object owns the workers, the job bar and the page's error line, and ties the
 * address bar to the shown results.
 */
export class Workbench {
  error = $state<string | null>(null);
  backend = $state.raw<BackendReport | null>(null);
  readonly jobs = new JobList();
  readonly trainer: TrainerClient;
  readonly url = new UrlStore();
  readonly data: DataStore;
  readonly runs: RunStore;
  readonly exports: ExportStore;
  /** The Selection view's auxiliary-task selection (kept here so it survives switching views). */
  readonly selection: SelectionRun;

  private pollTimer: ReturnType<typeof setInterval> | null = null;

  constructor() {
    this.trainer = createTrainerClient();
    this.data = new DataStore(this);
    this.runs = new RunStore(this);
    this.exports = new ExportStore(this);
    const { data, runs, trainer, jobs } = this;
    this.selection = new SelectionRun({
      trainer,
      jobs,
      get busy() {
        return runs.busy;
      },
      get offline() {
        return data.offline;
      },
      runInputs: (exp) => data.runInputs(exp),
    });
    this.applyHash(location.hash);
  }

  /** Reads a hash into the state; a shared snapshot in it becomes the shown results. */
  applyHash(hash: string): void {
    this.url.applyHash(hash);
    if (this.url.snapshot) this.runs.displayed = 'shared';
  }

  /** The hash the address bar shows: it keeps a shared snapshot while that is what the page shows. */
  currentHash(): string {
    return this.url.currentHash(this.runs.displayed === 'shared');
  }

  async init(): Promise<void> {
    try {
      this.backend = await this.trainer.api.init('auto');
    } catch (e) {
      this.error = `No compute backend could start: ${errorMessage(e)}`;
    }
    await this.runs.load();
    this.pollTimer = setInterval(() => void this.pollBackend(), 1500);
  }

  dispose(): void {
    if (this.pollTimer) clearInterval(this.pollTimer);
    this.trainer.terminate();
    this.data.dispose();
  }

  private async pollBackend(): Promise<void> {
    if (document.visibilityState !== 'visible') return;
    try {
      this.backend = await this.trainer.api.backendInfo();
    } catch {
      // The worker is busy starting; the next poll will do.
    }
  }
}
