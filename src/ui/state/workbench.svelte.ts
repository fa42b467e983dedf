import * as Comlink from 'comlink';
import { getTask } from '../../../datasets/glueTasks.ts';
import type { SplitName } from '../../../datasets/types.ts';
import type { EmbeddingMap } from '../../engine/analysis/embeddingMap.ts';
import type { ShardKey } from '../../engine/data/shardStore.ts';
import type { SourceSpec } from '../../engine/data/sourceSpec.ts';
import type { Experiment } from '../../engine/experiment/experimentSchema.ts';
import { parseAppExperiment } from '../../urlState/appExperiment.ts';
import { decodeAppState, encodeAppState, type AppState, type DemoSettings, type UiState, type ViewName } from '../../urlState/appState.ts';
import { DEFAULT_MIRROR, glueDemoExperiment, syntheticDemoExperiment } from '../../urlState/defaults.ts';
import { fetchTargets, loadKnownHosts, saveKnownHosts, unknownHosts } from '../../urlState/linkSafety.ts';
import type { ResultSnapshot } from '../../urlState/snapshot.ts';
import type { BackendReport } from '../../../workers/browserBackend.ts';
import type { LossPoint, ModelFrom, PreparedModel, RunData, RunSummary, RunUpdate } from '../../../workers/trainer/types.ts';
import { createDataClient, type DataClient } from '../clients/dataClient.ts';
import { createTrainerClient, type TrainerClient } from '../clients/trainerClient.ts';
import { errorMessage } from '../clients/modelClient.ts';
import { JobList, type Job } from './jobs.svelte.ts';
import { SelectionRun } from './selectionRun.svelte.ts';
import { fromRun, fromSnapshot, toSnapshot, type ShownResults } from './results.ts';

/** Files the user picked this session (browsers cannot reopen a path, so they live in page memory). */
export interface ImportedModel {
  label: string;
  files: File[];
  paths: string[];
}
export interface ImportedData {
  label: string;
  spec: SourceSpec;
}

const ACTIVE = new Set(['running', 'paused', 'preparing']);

export class CancelledError extends Error {}

/** A relative URL made absolute against the page (workers resolve relative URLs against their own script). */
export function absoluteUrl(input: string): string {
  const t = input.trim();
  if (!t) throw new Error('the URL is empty');
  try {
    return new URL(t, document.baseURI).href.replace(/\/+$/, '');
  } catch {
    throw new Error(`not a URL: ${t}`);
  }
}

/** The first labelled dev split of a task (MNLI's is dev_matched). */
function devSplitOf(task: string): SplitName | undefined {
  return getTask(task).splits.find((s) => s.labelled && s.name.startsWith('dev'))?.name;
}

/**
 * The page's state and actions. Views read its fields; every computation happens in the workers, this class
 * only moves plain data between them and the views, and mirrors the shareable part into the URL hash.
 */
export class Workbench {
  view = $state<ViewName>('start');
  experiment = $state.raw<Experiment>(parseAppExperiment(syntheticDemoExperiment()));
  ui = $state<UiState>({ corrMethod: 'kendall_tau_b', theme: 'auto', headsScale: 'measure' });
  demo = $state<DemoSettings>({ mirror: DEFAULT_MIRROR, model: '', tasks: [], rowsPerTask: 256, devRows: 128, importanceEvery: 16, probeRows: 32 });
  snapshot = $state.raw<ResultSnapshot | null>(null);
  /** Why the URL's state was not used (plain text). */
  urlMessage = $state<string | null>(null);
  /** Hosts a link would make the page fetch from that this browser has not used: nothing is fetched until confirmed. */
  pendingHosts = $state.raw<{ host: string; fields: string[] }[]>([]);
  error = $state<string | null>(null);
  /** A download failed: what and why, with the offline alternatives offered next to it. */
  offline = $state<{ what: string; reason: string } | null>(null);
  notice = $state<string | null>(null);
  backend = $state.raw<BackendReport | null>(null);
  run = $state.raw<RunSummary | null>(null);
  losses = $state.raw<LossPoint[]>([]);
  runs = $state.raw<RunSummary[]>([]);
  /** A stored run that was running when the page went away, with a checkpoint to resume from. */
  interrupted = $state.raw<RunSummary | null>(null);
  stored = $state.raw<{ run: RunSummary; losses: LossPoint[] } | null>(null);
  displayed = $state<'live' | 'stored' | 'shared' | null>(null);
  embedding = $state.raw<EmbeddingMap | null>(null);
  importedModel = $state.raw<ImportedModel | null>(null);
  importedData = $state.raw<ImportedData | null>(null);
  readonly jobs = new JobList();
  /** The Selection view's auxiliary-task selection (kept here so it survives switching views). */
  readonly selection = new SelectionRun(this);

  readonly trainer: TrainerClient;
  private dataClient: DataClient | null = null;
  private pollTimer: ReturnType<typeof setInterval> | null = null;

  shown: ShownResults | null = $derived.by(() => {
    if (this.displayed === 'live' && this.run) return fromRun(this.run, this.losses, 'live');
    if (this.displayed === 'stored' && this.stored) return fromRun(this.stored.run, this.stored.losses, 'stored');
    if (this.displayed === 'shared' && this.snapshot) return fromSnapshot(this.snapshot);
    return null;
  });

  /** Whether the live run is still going (training, paused or loading). */
  busy = $derived(this.run !== null && ACTIVE.has(this.run.status));

  constructor() {
    this.trainer = createTrainerClient();
    this.applyHash(location.hash);
  }

  get data(): DataClient {
    this.dataClient ??= createDataClient();
    return this.dataClient;
  }

  /** Reads a hash into the state; a bad one leaves the defaults and a message. */
  applyHash(hash: string): void {
    const { state, error } = decodeAppState(hash);
    this.urlMessage = error;
    this.pendingHosts = unknownHosts(fetchTargets(state.experiment, state.demo, document.baseURI), this.knownHosts());
    this.view = state.view;
    this.experiment = state.experiment;
    this.ui = state.ui;
    this.demo = state.demo;
    this.snapshot = state.snapshot;
    if (state.snapshot) this.displayed = 'shared';
  }

  private knownHosts(): Set<string> {
    return loadKnownHosts(globalThis.localStorage ?? null, new URL(document.baseURI).host);
  }

  /** The user read the hosts a link names and lets the page fetch from them (remembered in this browser). */
  confirmHosts(): void {
    saveKnownHosts(globalThis.localStorage ?? null, new Set([...this.knownHosts(), ...this.pendingHosts.map((h) => h.host)]));
    this.pendingHosts = [];
  }

  /** The user does not trust the link's hosts: the experiment and demo settings go back to the defaults. */
  refuseHosts(): void {
    const d = decodeAppState('').state;
    this.experiment = d.experiment;
    this.demo = d.demo;
    this.pendingHosts = [];
  }

  /** Hosts the user starts a run against themselves become known; a link's unconfirmed hosts stop the run. */
  private checkHosts(exp: Experiment): void {
    if (this.pendingHosts.length) {
      const list = this.pendingHosts.map((h) => `${h.host} (${h.fields.join(', ')})`).join('; ');
      throw new Error(
        `this link would fetch from hosts you have not used here: ${list}. Nothing has been fetched: allow them in the banner above, or reset to the defaults`,
      );
    }
    const known = this.knownHosts();
    const fresh = unknownHosts(fetchTargets(exp, this.demo, document.baseURI), known);
    if (fresh.length) saveKnownHosts(globalThis.localStorage ?? null, new Set([...known, ...fresh.map((h) => h.host)]));
  }

  appState(withSnapshot: boolean): AppState {
    return {
      view: this.view,
      experiment: this.experiment,
      ui: $state.snapshot(this.ui),
      demo: $state.snapshot(this.demo),
      snapshot: withSnapshot ? this.snapshot : null,
    };
  }

  /** The hash the address bar shows: it keeps a shared snapshot while that is what the page shows. */
  currentHash(): string {
    const keep = this.displayed === 'shared' && this.snapshot !== null;
    return encodeAppState(this.appState(keep), { withSnapshot: keep });
  }

  /** A link to this screen and config; with `withResults`, also the shown results, so no training is needed to see them. */
  shareLink(withResults: boolean): string {
    const base = `${location.origin}${location.pathname}${location.search}`;
    let state: AppState;
    if (!withResults) state = this.appState(false);
    else {
      if (!this.shown) throw new Error('there are no results to share yet: run a demo or open a run in Results');
      const snap = toSnapshot(this.shown, this.ui.corrMethod);
      // The results travel with the experiment that produced them (the composer may hold another one by now).
      let own = this.experiment;
      try {
        own = parseAppExperiment(this.shownExperiment() ?? this.experiment, 'shown run');
      } catch {
        // A run stored by an older version whose config no longer validates: share with the page's experiment.
      }
      state = { ...this.appState(false), experiment: own, snapshot: snap };
    }
    const hash = encodeAppState(state, { withSnapshot: withResults });
    // A link the app itself would refuse is worse than none: check it opens to the same state before handing it out.
    const back = decodeAppState(hash);
    if (back.error || encodeAppState(back.state, { withSnapshot: withResults }) !== hash) {
      throw new Error(`the link would not open to this state (${back.error ?? 'it reads back differently'})`);
    }
    return `${base}#${hash}`;
  }

  /** The experiment behind the shown results (a live or stored run's; null for a shared link's). */
  private shownExperiment(): Experiment | null {
    if (this.displayed === 'live' && this.run) return this.run.experiment;
    if (this.displayed === 'stored' && this.stored) return this.stored.run.experiment;
    return null;
  }

  async init(): Promise<void> {
    try {
      this.backend = await this.trainer.api.init('auto');
    } catch (e) {
      this.error = `No compute backend could start: ${errorMessage(e)}`;
    }
    await this.refreshRuns();
    const candidate = this.runs.find((r) => ACTIVE.has(r.status));
    if (candidate) this.interrupted = { ...candidate, status: 'interrupted' };
    this.pollTimer = setInterval(() => void this.pollBackend(), 1500);
  }

  dispose(): void {
    if (this.pollTimer) clearInterval(this.pollTimer);
    this.trainer.terminate();
    this.dataClient?.terminate();
  }

  private async pollBackend(): Promise<void> {
    if (document.visibilityState !== 'visible') return;
    try {
      this.backend = await this.trainer.api.backendInfo();
    } catch {
      // The worker is busy starting; the next poll will do.
    }
  }

  setExperiment(exp: Experiment): void {
    this.experiment = exp;
  }

  async refreshRuns(): Promise<void> {
    try {
      this.runs = await this.trainer.api.listRuns();
    } catch (e) {
      this.error = `Could not read the stored runs: ${errorMessage(e)}`;
    }
  }

  /** Runs `work`, showing its error on the page instead of throwing. */
  private async guard(work: () => Promise<void>): Promise<void> {
    this.error = null;
    try {
      await work();
    } catch (e) {
      this.error = errorMessage(e);
    }
  }

  /** The synthetic experiment as composed (or from a link); from any other experiment, the default one. */
  runSyntheticDemo(): Promise<void> {
    if (this.experiment.data.kind === 'synthetic') return this.startExperiment(this.experiment);
    const exp = parseAppExperiment(syntheticDemoExperiment(), 'synthetic demo');
    return this.startExperiment({ ...exp, backend: this.experiment.backend });
  }

  /** The GLUE demo from the Start page's settings; a model folder or GLUE data imported this session replace the downloads. */
  runGlueDemo(): Promise<void> {
    const d = this.demo;
    const input = glueDemoExperiment({ mirror: d.mirror, model: d.model, tasks: d.tasks, rowsPerTask: d.rowsPerTask });
    if (this.importedModel) input.model = { kind: 'dir', path: this.importedModel.label };
    if (this.importedData) input.data = { kind: 'glue-dir', path: this.importedData.label };
    const exp = parseAppExperiment(input, 'GLUE demo');
    return this.startExperiment({ ...exp, backend: this.experiment.backend });
  }

  startExperiment(exp: Experiment): Promise<void> {
    return this.guard(async () => {
      if (this.busy) throw new Error(`run "${this.run!.name}" is still in progress: stop it first`);
      if (this.selection.running) throw new Error('a selection is in progress (Selection view): stop it first');
      const inputs = await this.runInputs(exp);
      if (!inputs) return;
      await this.launch(exp, inputs.model, inputs.data, { importanceEvery: this.demo.importanceEvery, probeRows: this.demo.probeRows });
    });
  }

  /**
   * The model and data the worker reads for `exp` (a run, or a selection over its tasks): the synthetic demo's
   * generated rows, or the model loaded and GLUE token shards built. Null when a download failed (`offline` says why).
   */
  async runInputs(exp: Experiment): Promise<{ model: ModelFrom; data: RunData } | null> {
    this.offline = null;
    this.notice = null;
    this.checkHosts(exp);
    if (exp.data.kind === 'synthetic') {
      if (exp.model.kind !== 'random')
        throw new Error('the synthetic tasks need a random encoder over the synthetic vocabulary (model.kind "random", vocab "synthetic")');
      const trainRows = Math.max(...exp.tasks.map((t) => t.maxTrainRows ?? this.demo.rowsPerTask));
      return { model: { kind: 'random' }, data: { kind: 'synthetic', trainRows, devRows: this.demo.devRows } };
    }
    const from = this.modelFrom(exp);
    let prepared: PreparedModel;
    try {
      prepared = await this.jobs.run('Loading model', (job) =>
        this.trainer.api.prepareModel(
          from,
          Comlink.proxy((loaded: number, total: number | undefined) => {
            this.jobs.update(job.id, {
              detail: `${(loaded / 1e6).toFixed(1)}${total ? ` / ${(total / 1e6).toFixed(1)}` : ''} MB`,
              progress: total ? loaded / total : null,
            });
          }),
        ),
      );
    } catch (e) {
      this.offline = { what: `the model (${describeModel(exp)})`, reason: errorMessage(e) };
      return null;
    }
    if (prepared.fromCache) this.notice = `The model could not be downloaded; using the copy cached in this browser (${prepared.origin}).`;
    let tasks: Extract<RunData, { kind: 'shards' }>['tasks'];
    try {
      tasks = await this.buildShards(exp, prepared);
    } catch (e) {
      if (e instanceof CancelledError) throw e;
      this.offline = { what: `the GLUE data (${describeData(exp)})`, reason: errorMessage(e) };
      return null;
    }
    return { model: from, data: { kind: 'shards', tasks, devRows: this.demo.devRows } };
  }

  private modelFrom(exp: Experiment): ModelFrom {
    const m = exp.model;
    switch (m.kind) {
      case 'hub': {
        const mirror = exp.data.kind === 'hub' ? exp.data.mirror : DEFAULT_MIRROR;
        return { kind: 'url', base: absoluteUrl(`${mirror.replace(/\/+$/, '')}/${m.repo}/resolve/${m.revision}`) };
      }
      case 'url':
        return { kind: 'url', base: absoluteUrl(m.url) };
      case 'dir':
        if (this.importedModel && this.importedModel.label === m.path)
          return { kind: 'files', files: this.importedModel.files, paths: this.importedModel.paths };
        throw new Error(
          `the model folder "${m.path}" was picked in an earlier session: pick it again in the Model view (a page cannot reopen a folder by path)`,
        );
      case 'random':
        return { kind: 'random' };
      case 'run':
        throw new Error(
          'starting from a stored run\'s checkpoint (model.kind "run") is a CLI feature; export the run\'s checkpoint and load the folder instead',
        );
    }
  }

  private sourceSpec(exp: Experiment): SourceSpec | null {
    const d = exp.data;
    switch (d.kind) {
      case 'hub':
        return { kind: 'hub', mirror: absoluteUrl(d.mirror) };
      case 'glue-url':
        return { kind: 'glue-url', base: absoluteUrl(d.url) };
      case 'glue-dir':
        return this.importedData && this.importedData.label === d.path ? this.importedData.spec : null;
      case 'synthetic':
        throw new Error('synthetic data has no source to build');
    }
  }

  /** Token shards of every task's train and dev split, built by the data worker (or found in its cache). */
  private async buildShards(exp: Experiment, prepared: PreparedModel): Promise<Record<string, { train: ShardKey; dev?: ShardKey }>> {
    const spec = this.sourceSpec(exp);
    const tok = { vocabText: prepared.vocabText, doLowerCase: prepared.doLowerCase };
    const out: Record<string, { train: ShardKey; dev?: ShardKey }> = {};
    const cached = spec ? [] : await this.data.api.cached();
    for (const t of exp.tasks) {
      const splits: SplitName[] = ['train'];
      const dev = devSplitOf(t.name);
      if (dev) splits.push(dev);
      const keys: Partial<Record<'train' | 'dev', ShardKey>> = {};
      for (const split of splits) {
        let key: ShardKey;
        if (spec) {
          const m = await this.dataJob(`Preparing ${t.name}/${split}`, (job) =>
            this.data.api.build(
              spec,
              t.name,
              split,
              tok,
              { maxLength: exp.maxLength },
              Comlink.proxy((p: { rows: number; phase: string; etaSeconds?: number; bytes: number; totalBytes?: number }) => {
                this.jobs.update(job.id, {
                  detail: `${p.phase} · ${p.rows} rows`,
                  progress: p.totalBytes ? p.bytes / p.totalBytes : null,
                  etaSeconds: p.etaSeconds ?? null,
                });
              }),
            ),
          );
          key = { task: m.task, split: m.split, variant: m.variant };
        } else {
          const m = cached.find(
            (c) =>
              c.task === t.name &&
              c.split === split &&
              c.complete &&
              c.maxLength === exp.maxLength &&
              c.vocabHash === prepared.vocabHash &&
              c.doLowerCase === prepared.doLowerCase,
          );
          if (!m)
            throw new Error(
              `${t.name}/${split} is not in the cache and the folder "${(exp.data as { path?: string }).path}" is not loaded: import it again in the Data view`,
            );
          key = { task: m.task, split: m.split, variant: m.variant };
        }
        keys[split === 'train' ? 'train' : 'dev'] = key;
      }
      out[t.name] = { train: keys.train!, ...(keys.dev ? { dev: keys.dev } : {}) };
    }
    return out;
  }

  /**
   * A data-worker job the job bar can cancel: cancelling terminates the worker (a build cannot be interrupted
   * from outside otherwise); the shards it finished stay cached and a later build continues after them.
   */
  private dataJob<T>(label: string, work: (job: Job) => Promise<T>): Promise<T> {
    let cancel = () => {};
    const cancelled = new Promise<never>((_, reject) => {
      cancel = () => {
        this.dataClient?.terminate();
        this.dataClient = null;
        reject(new CancelledError(`${label}: cancelled`));
      };
    });
    return this.jobs.run(
      label,
      (job) => Promise.race([work(job), cancelled]),
      () => cancel(),
    );
  }

  private async launch(exp: Experiment, model: ModelFrom, data: RunData, options: { importanceEvery: number; probeRows: number }): Promise<void> {
    this.interrupted = null;
    this.losses = [];
    this.embedding = null;
    // The run's experiment becomes the page's (a failed download leaves the composed one in place).
    this.experiment = exp;
    const summary = await this.trainer.api.startRun(
      { experiment: exp, model, data, options },
      Comlink.proxy((u: RunUpdate) => this.onUpdate(u)),
    );
    this.run = summary;
    this.displayed = 'live';
    this.view = 'train';
    void this.refreshRuns();
  }

  private onUpdate(u: RunUpdate): void {
    const wasActive = this.run !== null && ACTIVE.has(this.run.status);
    this.losses = u.reset ? u.newLosses : u.newLosses.length ? [...this.losses, ...u.newLosses] : this.losses;
    this.run = u.summary;
    if (wasActive && !ACTIVE.has(u.summary.status)) void this.refreshRuns();
  }

  pause = () => void this.trainer.api.pause();
  resume = () => void this.trainer.api.resume();
  stop = () => void this.trainer.api.stop();

  resumeRun(id: string): Promise<void> {
    return this.guard(async () => {
      if (this.busy) throw new Error('a run is in progress: stop it first');
      this.losses = [];
      this.embedding = null;
      const summary = await this.trainer.api.resumeRun(
        id,
        Comlink.proxy((u: RunUpdate) => this.onUpdate(u)),
      );
      this.interrupted = null;
      this.run = summary;
      this.experiment = summary.experiment;
      this.displayed = 'live';
      this.view = 'train';
    });
  }

  /** Shows a stored run in the result views. */
  openRun(id: string): Promise<void> {
    return this.guard(async () => {
      const r = await this.trainer.api.getRun(id);
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

  deleteRun(id: string): Promise<void> {
    return this.guard(async () => {
      await this.trainer.api.deleteRun(id);
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
      const id = this.shown?.runId;
      if (!id) throw new Error('open a run first (shared links carry no features)');
      this.embedding = await this.jobs.run('Embedding map (UMAP)', (job) =>
        this.trainer.api.embeddings(
          id,
          { rowsPerTask, seed: this.experiment.seed },
          Comlink.proxy((done: number, total: number) => {
            this.jobs.update(job.id, { progress: done / total, detail: `epoch ${done} / ${total}` });
          }),
        ),
      );
    });
  }

  /** Test sets of a GLUE run's tasks as shards, then the submission zip from the trainer worker. */
  async submissionZip(id: string): Promise<{ zip: Uint8Array; files: string[]; missing: string[]; warnings: string[] }> {
    const r = this.runs.find((x) => x.id === id) ?? (this.run?.id === id ? this.run : null);
    if (!r) throw new Error(`no run ${id}`);
    const exp = r.experiment;
    if (exp.data.kind === 'synthetic') throw new Error('the synthetic tasks are not GLUE tasks: there is nothing to submit');
    const prepared = await this.trainer.api.prepareModel(this.modelFrom(exp));
    const spec = this.sourceSpec(exp);
    if (!spec) throw new Error("the run's GLUE folder is not loaded: import it again in the Data view");
    const keys: ShardKey[] = [];
    for (const t of exp.tasks) {
      for (const s of getTask(t.name).splits.filter((x) => x.submissionFile)) {
        const m = await this.jobs.run(`Preparing ${t.name}/${s.name}`, () =>
          this.data.api.build(spec, t.name, s.name, { vocabText: prepared.vocabText, doLowerCase: prepared.doLowerCase }, { maxLength: exp.maxLength }),
        );
        keys.push({ task: m.task, split: m.split, variant: m.variant });
      }
    }
    return this.jobs.run('Predicting test sets', () => this.trainer.api.exportSubmission(id, keys));
  }

  /** A picked model folder: "Run demo" trains from it, and so does a composed GLUE experiment. */
  importModelFolder(files: File[]): void {
    if (files.length === 0) return;
    const paths = files.map((f) => f.webkitRelativePath || f.name);
    const label = paths[0].includes('/') ? paths[0].slice(0, paths[0].indexOf('/')) : 'picked files';
    this.importedModel = { label, files, paths };
    if (this.experiment.data.kind !== 'synthetic') this.experiment = { ...this.experiment, model: { kind: 'dir', path: label } };
    this.notice = `Model folder "${label}" is ready: the next GLUE run trains from it.`;
  }

  /** A picked GLUE folder or zip: "Run demo" reads its tasks from it, and so does a composed GLUE experiment. */
  importGlue(files: File[]): void {
    if (files.length === 0) return;
    const zip = files.length === 1 && files[0].name.toLowerCase().endsWith('.zip') ? files[0] : null;
    const label = zip ? zip.name : files[0].webkitRelativePath.split('/')[0] || 'picked files';
    const spec: SourceSpec = zip ? { kind: 'zip', file: zip, name: zip.name } : { kind: 'files', files, label };
    this.importedData = { label, spec };
    if (this.experiment.data.kind !== 'synthetic') this.experiment = { ...this.experiment, data: { kind: 'glue-dir', path: label } };
    this.notice = `GLUE data "${label}" is ready: the next run reads its tasks from it.`;
  }
}

function describeModel(exp: Experiment): string {
  const m = exp.model;
  return m.kind === 'hub' ? m.repo : m.kind === 'url' ? m.url : m.kind === 'dir' ? m.path : m.kind;
}

function describeData(exp: Experiment): string {
  const d = exp.data;
  return d.kind === 'hub' ? `Hub Parquet via ${d.mirror}` : d.kind === 'glue-url' ? d.url : d.kind === 'glue-dir' ? d.path : 'synthetic';
}
