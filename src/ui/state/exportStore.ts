import { getTask } from '../../../datasets/glueTasks.ts';
import type { ShardKey } from '../../engine/data/shardStore.ts';
import { parseAppExperiment } from '../../urlState/appExperiment.ts';
import { decodeAppState, encodeAppState, type AppState } from '../../urlState/appState.ts';
import type { TrainerClient } from '../clients/trainerClient.ts';
import type { DataStore } from './dataStore.svelte.ts';
import type { JobList } from './jobs.svelte.ts';
import { toSnapshot } from './results.ts';
import type { RunStore } from './runStore.svelte.ts';
import type { UrlStore } from './urlStore.svelte.ts';

/** What the exports read: the trainer worker, the job bar and the other stores. */
export interface ExportStoreHost {
  readonly trainer: TrainerClient;
  readonly jobs: JobList;
  readonly url: UrlStore;
  readonly data: DataStore;
  readonly runs: RunStore;
}

/** What leaves the page: links to the current screen (with or without its results) and GLUE submission zips. */
export class ExportStore {
  constructor(private readonly host: ExportStoreHost) {}

  /** A link to this screen and config; with `withResults`, also the shown results, so no training is needed to see them. */
  shareLink(withResults: boolean): string {
    const { url, runs } = this.host;
    const base = `${location.origin}${location.pathname}${location.search}`;
    let state: AppState;
    if (!withResults) state = url.appState(false);
    else {
      if (!runs.shown) throw new Error('there are no results to share yet: run a demo or open a run in Results');
      const snap = toSnapshot(runs.shown, url.ui.corrMethod);
      // The results travel with the experiment that produced them (the composer may hold another one by now).
      let own = url.experiment;
      try {
        own = parseAppExperiment(runs.shownExperiment() ?? url.experiment, 'shown run');
      } catch {
        // A run stored by an older version whose config no longer validates: share with the page's experiment.
      }
      state = { ...url.appState(false), experiment: own, snapshot: snap };
    }
    const hash = encodeAppState(state, { withSnapshot: withResults });
    // A link the app itself would refuse is worse than none: check it opens to the same state before handing it out.
    const back = decodeAppState(hash);
    if (back.error || encodeAppState(back.state, { withSnapshot: withResults }) !== hash) {
      throw new Error(`the link would not open to this state (${back.error ?? 'it reads back differently'})`);
    }
    return `${base}#${hash}`;
  }

  /** A stored run, or the live one, by id. */
  private runOf(id: string) {
    const { runs } = this.host;
    const r = runs.list.find((x) => x.id === id) ?? (runs.run?.id === id ? runs.run : null);
    if (!r) throw new Error(`no run ${id}`);
    return r;
  }

  /**
   * A stored run's experiment as a zipped export-torch folder (train.py for torchrun, its data and starting
   * weights), built by the trainer worker from the model the run started from.
   */
  async torchExport(id: string): Promise<{ fileName: string; zip: Uint8Array; files: number }> {
    const { trainer, jobs, data } = this.host;
    const r = this.runOf(id);
    const from = data.modelFrom(r.experiment);
    return jobs.run('Exporting for PyTorch', () => trainer.api.exportTorchRun(id, from));
  }

  /** Test sets of a GLUE run's tasks as shards, then the submission zip from the trainer worker. */
  async submissionZip(id: string): Promise<{ zip: Uint8Array; files: string[]; missing: string[]; warnings: string[] }> {
    const { trainer, jobs, data } = this.host;
    const r = this.runOf(id);
    const exp = r.experiment;
    if (exp.data.kind === 'synthetic') throw new Error('the synthetic tasks are not GLUE tasks: there is nothing to submit');
    const prepared = await trainer.api.prepareModel(data.modelFrom(exp));
    const spec = data.sourceSpec(exp);
    if (!spec) throw new Error("the run's GLUE folder is not loaded: import it again in the Data view");
    const keys: ShardKey[] = [];
    for (const t of exp.tasks) {
      for (const s of getTask(t.name).splits.filter((x) => x.submissionFile)) {
        const m = await jobs.run(`Preparing ${t.name}/${s.name}`, () =>
          data.client.api.build(spec, t.name, s.name, { vocabText: prepared.vocabText, doLowerCase: prepared.doLowerCase }, { maxLength: exp.maxLength }),
        );
        keys.push({ task: m.task, split: m.split, variant: m.variant });
      }
    }
    return jobs.run('Predicting test sets', () => trainer.api.exportSubmission(id, keys));
  }
}
