import * as Comlink from 'comlink';
import { getTask } from '../../../datasets/glueTasks.ts';
import type { SplitName } from '../../../datasets/types.ts';
import type { ShardKey } from '../../engine/data/shardStore.ts';
import type { SourceSpec } from '../../engine/data/sourceSpec.ts';
import type { Experiment } from '../../engine/experiment/experimentSchema.ts';
import { DEFAULT_MIRROR } from '../../urlState/defaults.ts';
import type { ModelFrom, PreparedModel, RunData } from '../../../workers/trainer/types.ts';
import { createDataClient, type DataClient } from '../clients/dataClient.ts';
import type { TrainerClient } from '../clients/trainerClient.ts';
import { errorMessage } from '../clients/modelClient.ts';
import type { Job, JobList } from './jobs.svelte.ts';
import type { UrlStore } from './urlStore.svelte.ts';

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

/** What the data store needs from the page: the trainer worker (it loads models), the job bar and the shareable state. */
export interface DataStoreHost {
  readonly trainer: TrainerClient;
  readonly jobs: JobList;
  readonly url: UrlStore;
}

/**
 * The model and data a run reads: folders picked this session, downloads through the trainer worker, and GLUE
 * token shards built (or found cached) by the data worker. A failed download is reported in `offline`.
 */
export class DataStore {
  importedModel = $state.raw<ImportedModel | null>(null);
  importedData = $state.raw<ImportedData | null>(null);
  /** A download failed: what and why, with the offline alternatives offered next to it. */
  offline = $state<{ what: string; reason: string } | null>(null);
  notice = $state<string | null>(null);

  private dataClient: DataClient | null = null;

  constructor(private readonly host: DataStoreHost) {}

  /** The data worker, started on first use (and again after a cancelled build terminated it). */
  get client(): DataClient {
    this.dataClient ??= createDataClient();
    return this.dataClient;
  }

  dispose(): void {
    this.dataClient?.terminate();
  }

  /**
   * The model and data the worker reads for `exp` (a run, or a selection over its tasks): the synthetic demo's
   * generated rows, or the model loaded and GLUE token shards built. Null when a download failed (`offline` says why).
   */
  async runInputs(exp: Experiment): Promise<{ model: ModelFrom; data: RunData } | null> {
    const { jobs, trainer, url } = this.host;
    this.offline = null;
    this.notice = null;
    url.checkHosts(exp);
    if (exp.data.kind === 'synthetic') {
      if (exp.model.kind !== 'random')
        throw new Error('the synthetic tasks need a random encoder over the synthetic vocabulary (model.kind "random", vocab "synthetic")');
      const trainRows = Math.max(...exp.tasks.map((t) => t.maxTrainRows ?? url.demo.rowsPerTask));
      return { model: { kind: 'random' }, data: { kind: 'synthetic', trainRows, devRows: url.demo.devRows } };
    }
    const from = this.modelFrom(exp);
    let prepared: PreparedModel;
    try {
      prepared = await jobs.run('Loading model', (job) =>
        trainer.api.prepareModel(
          from,
          Comlink.proxy((loaded: number, total: number | undefined) => {
            jobs.update(job.id, {
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
    return { model: from, data: { kind: 'shards', tasks, devRows: url.demo.devRows } };
  }

  /** Where the trainer worker loads `exp`'s model from. */
  modelFrom(exp: Experiment): ModelFrom {
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

  /** Where the data worker reads `exp`'s GLUE rows; null for a folder picked in an earlier session (only its cached shards remain). */
  sourceSpec(exp: Experiment): SourceSpec | null {
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
    const cached = spec ? [] : await this.client.api.cached();
    for (const t of exp.tasks) {
      const splits: SplitName[] = ['train'];
      const dev = devSplitOf(t.name);
      if (dev) splits.push(dev);
      const keys: Partial<Record<'train' | 'dev', ShardKey>> = {};
      for (const split of splits) {
        let key: ShardKey;
        if (spec) {
          const m = await this.dataJob(`Preparing ${t.name}/${split}`, (job) =>
            this.client.api.build(
              spec,
              t.name,
              split,
              tok,
              { maxLength: exp.maxLength },
              Comlink.proxy((p: { rows: number; phase: string; etaSeconds?: number; bytes: number; totalBytes?: number }) => {
                this.host.jobs.update(job.id, {
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
    return this.host.jobs.run(
      label,
      (job) => Promise.race([work(job), cancelled]),
      () => cancel(),
    );
  }

  /** A picked model folder: "Run demo" trains from it, and so does a composed GLUE experiment. */
  importModelFolder(files: File[]): void {
    if (files.length === 0) return;
    const { url } = this.host;
    const paths = files.map((f) => f.webkitRelativePath || f.name);
    const label = paths[0].includes('/') ? paths[0].slice(0, paths[0].indexOf('/')) : 'picked files';
    this.importedModel = { label, files, paths };
    if (url.experiment.data.kind !== 'synthetic') url.experiment = { ...url.experiment, model: { kind: 'dir', path: label } };
    this.notice = `Model folder "${label}" is ready: the next GLUE run trains from it.`;
  }

  /** A picked GLUE folder or zip: "Run demo" reads its tasks from it, and so does a composed GLUE experiment. */
  importGlue(files: File[]): void {
    if (files.length === 0) return;
    const { url } = this.host;
    const zip = files.length === 1 && files[0].name.toLowerCase().endsWith('.zip') ? files[0] : null;
    const label = zip ? zip.name : files[0].webkitRelativePath.split('/')[0] || 'picked files';
    const spec: SourceSpec = zip ? { kind: 'zip', file: zip, name: zip.name } : { kind: 'files', files, label };
    this.importedData = { label, spec };
    if (url.experiment.data.kind !== 'synthetic') url.experiment = { ...url.experiment, data: { kind: 'glue-dir', path: label } };
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
