import * as Comlink from 'comlink';
import type { EmbeddingMap } from '../../engine/analysis/embeddingMap.ts';
import type { Experiment } from '../../engine/experiment/experimentSchema.ts';
import { parseAppExperiment } from '../../urlState/appExperiment.ts';
import { glueDemoExperiment, syntheticDemoExperiment } from '../../urlState/defaults.ts';
import type { LossPoint, ModelFrom, RunData, RunSummary, RunUpdate } from '../../../workers/trainer/types.ts';
import type { TrainerClient } from '../clients/trainerClient.ts';
import { errorMessage } from '../clients/modelClient.ts';
import type { DataStore } from './dataStore.svelte.ts';
import type { JobList } from './jobs.svelte.ts';
import { fromRun, fromSnapshot, type ShownResults } from './results.ts';
import type { UrlStore } from './urlStore.svelte.ts';

const ACTIVE = new Set(['running', 'paused', 'preparing']);

/** What the runs need from the page: the trainer worker, the job bar, the other stores and the page's error line. */
export interface RunStoreHost {
  readonly trainer: TrainerClient;
  readonly jobs: JobList;
  readonly url: UrlStore;
  readonly data: DataStore;
  readonly selection: { readonly running: boolean };
  error: string | null;
}

/**
 * Training runs: the live one (started, paused, resumed, stopped in the trainer worker), the stored ones, and
 * which results the result views show (live, stored or a shared link's snapshot).
 */
export class RunStore {
  run = $state.raw<RunSummary | null>(null);
  losses = $state.raw<LossPoint[]>([]);
  /** The runs stored in this browser. */
  list = $state.raw<RunSummary[]>([]);
  /** A stored run that was running when the page went away, with a checkpoint to resume from. */
  interrupted = $state.raw<RunSummary | null>(null);
  stored = $state.raw<{ run: RunSummary; losses: LossPoint[] } | null>(null);
  displayed = $state<'live' | 'stored' | 'shared' | null>(null);
  embedding = $state.raw<EmbeddingMap | null>(null);

  shown: ShownResults | null = $derived.by(() => {
    if (this.displayed === 'live' && this.run) return fromRun(this.run, this.losses, 'live');
    if (this.displayed === 'stored' && this.stored) return fromRun(this.stored.run, this.stored.losses, 'stored');
    if (this.displayed === 'shared' && this.host.url.snapshot) return fromSnapshot(this.host.url.snapshot);
    return null;
  });

  /** Whether the live run is still going (training, paused or loading). */
  busy = $derived(this.run !== null && ACTIVE.has(this.run.status));

  constructor(private readonly host: RunStoreHost) {}

  /** Reads the stored runs; one left running when the page went away is offered for resuming. */
  async load(): Promise<void> {
    await this.refreshRuns();
    const candidate = this.list.find((r) => ACTIVE.has(r.status));
    if (candidate) this.interrupted = { ...candidate, status: 'interrupted' };
  }

  async refreshRuns(): Promise<void> {
    try {
      this.list = await this.host.trainer.api.listRuns();
    } catch (e) {
      this.host.error = `Could not read the stored runs: ${errorMessage(e)}`;
    }
  }

  /** Runs `work`, showing its error on the page instead of throwing. */
  private async guard(work: () => Promise<void>): Promise<void> {
    this.host.error = null;
    try {
      await work();
    } catch (e) {
      this.host.error = errorMessage(e);
    }
  }

  /** The synthetic experiment as composed (or from a link); from any other experiment, the default one. */
  runSyntheticDemo(): Promise<void> {
    const { experiment } = this.host.url;
    if (experiment.data.kind === 'synthetic') return this.startExperiment(experiment);
    const exp = parseAppExperiment(syntheticDemoExperiment(), 'synthetic demo');
    return this.startExperiment({ ...exp, backend: experiment.backend });
  }

  /** The GLUE demo from the Start page's settings; a model folder or GLUE data imported this session replace the downloads. */
  runGlueDemo(): Promise<void> {
    const { url, data } = this.host;
    const d = url.demo;
    const input = glueDemoExperiment({ mirror: d.mirror, model: d.model, tasks: d.tasks, rowsPerTask: d.rowsPerTask });
    if (data.importedModel) input.model = { kind: 'dir', path: data.importedModel.label };
    if (data.importedData) input.data = { kind: 'glue-dir', path: data.importedData.label };
    const exp = parseAppExperiment(input, 'GLUE demo');
    return this.startExperiment({ ...exp, backend: url.experiment.backend });
  }

  startExperiment(exp: Experiment): Promise<void> {
    return this.guard(async () => {
      if (this.busy) throw new Error(`run "${this.run!.name}" is still in progress: stop it first`);
      if (this.host.selection.running) throw new Error('a selection is in progress (Selection view): stop it first');
      const inputs = await this.host.data.runInputs(exp);
      if (!inputs) return;
      const { demo } = this.host.url;
      await this.launch(exp, inputs.model, inputs.data, { importanceEvery: demo.importanceEvery, probeRows: demo.probeRows });
    });
  }

  private async launch(exp: Experiment, model: ModelFrom, data: RunData, options: { importanceEvery: number; probeRows: number }): Promise<void> {
    const { url, trainer } = this.host;
    this.interrupted = null;
    this.losses = [];
    this.embedding = null;
    // The run's experiment becomes the page's (a failed download leaves the composed one in place).
    url.experiment = exp;
    const summary = await trainer.api.startRun(
      { experiment: exp, model, data, options },
      Comlink.proxy((u: RunUpdate) => this.onUpdate(u)),
    );
    this.run = summary;
    this.displayed = 'live';
    url.view = 'train';
    void this.refreshRuns();
  }

  private onUpdate(u: RunUpdate): void {
    const wasActive = this.run !== null && ACTIVE.has(this.run.status);
    this.losses = u.reset ? u.newLosses : u.newLosses.length ? [...this.losses, ...u.newLosses] : this.losses;
    this.run = u.summary;
    if (wasActive && !ACTIVE.has(u.summary.status)) void this.refreshRuns();
  }

  pause = () => void this.host.trainer.api.pause();
  resume = () => void this.host.trainer.api.resume();
  stop = () => void this.host.trainer.api.stop();

  resumeRun(id: string): Promise<void> {
    return this.guard(async () => {
      if (this.busy) throw new Error('a run is in progress: stop it first');
      this.losses = [];
      this.embedding = null;
      const summary = await this.host.trainer.api.resumeRun(
        id,
        Comlink.proxy((u: RunUpdate) => this.onUpdate(u)),
      );
      this.interrupted = null;
      this.run = summary;
      this.host.url.experiment = summary.experiment;
      this.displayed = 'live';
      this.host.url.view = 'train';
    });
  }

  /** Shows a stored run in the result views. */
  openRun(id: string): Promise<void> {
    return this.guard(async () => {
      const r = await this.host.trainer.api.getRun(id);
      if (!r) throw new Error(`run ${id} is no longer stored`);
      const { losses, ...run } = r;
      this.stored = { run, losses };
      this.displayed = 'stored';
      this.embedding = null;
    });
  }

  showLive(): void {
    if (this.run) this.displayed = 'live';
  }

  /** The experiment behind the shown results (a live or stored run's; null for a shared link's). */
  shownExperiment(): Experiment | null {
    if (this.displayed === 'live' && this.run) return this.run.experiment;
    if (this.displayed === 'stored' && this.stored) return this.stored.run.experiment;
    return null;
  }

  deleteRun(id: string): Promise<void> {
    return this.guard(async () => {
      await this.host.trainer.api.deleteRun(id);
      if (this.stored?.run.id === id) {
        this.stored = null;
        if (this.displayed === 'stored') this.displayed = this.run ? 'live' : null;
      }
      if (this.interrupted?.id === id) this.interrupted = null;
      await this.refreshRuns();
    });
  }

  computeEmbeddings(rowsPerTask = 48): Promise<void> {
    return this.guard(async () => {
      const { jobs, trainer, url } = this.host;
      const id = this.shown?.runId;
      if (!id) throw new Error('open a run first (shared links carry no features)');
      this.embedding = await jobs.run('Embedding map (UMAP)', (job) =>
        trainer.api.embeddings(
          id,
          { rowsPerTask, seed: url.experiment.seed },
          Comlink.proxy((done: number, total: number) => {
            jobs.update(job.id, { progress: done / total, detail: `epoch ${done} / ${total}` });
          }),
        ),
      );
    });
  }
}
