import type { Experiment } from '../../engine/experiment/experimentSchema.ts';
import { parseAppExperiment } from '../../urlState/appExperiment.ts';
import { decodeAppState, encodeAppState, type AppState, type DemoSettings, type UiState, type ViewName } from '../../urlState/appState.ts';
import { DEFAULT_MIRROR, syntheticDemoExperiment } from '../../urlState/defaults.ts';
import { fetchTargets, loadKnownHosts, saveKnownHosts, unknownHosts } from '../../urlState/linkSafety.ts';
import type { ResultSnapshot } from '../../urlState/snapshot.ts';

/**
 * The page's shareable state: what the address bar mirrors (screen, experiment, view settings, demo settings
 * and a shared result snapshot), and the check that a link's hosts were confirmed before anything is fetched.
 */
export class UrlStore {
  view = $state<ViewName>('start');
  experiment = $state.raw<Experiment>(parseAppExperiment(syntheticDemoExperiment()));
  ui = $state<UiState>({ corrMethod: 'kendall_tau_b', theme: 'auto', headsScale: 'measure' });
  demo = $state<DemoSettings>({ mirror: DEFAULT_MIRROR, model: '', tasks: [], rowsPerTask: 256, devRows: 128, importanceEvery: 16, probeRows: 32 });
  snapshot = $state.raw<ResultSnapshot | null>(null);
  /** Why the URL's state was not used (plain text). */
  urlMessage = $state<string | null>(null);
  /** Hosts a link would make the page fetch from that this browser has not used: nothing is fetched until confirmed. */
  pendingHosts = $state.raw<{ host: string; fields: string[] }[]>([]);

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
  checkHosts(exp: Experiment): void {
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
  currentHash(showsSnapshot: boolean): string {
    const keep = showsSnapshot && this.snapshot !== null;
    return encodeAppState(this.appState(keep), { withSnapshot: keep });
  }

  setExperiment(exp: Experiment): void {
    this.experiment = exp;
  }
}
