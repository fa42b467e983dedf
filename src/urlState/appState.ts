import * as v from 'valibot';
import { isLinkLocalUrl, isWebUrl, type Experiment } from '../engine/experiment/experimentSchema.ts';
import { ALL_TASK_NAMES, parseAppExperiment } from './appExperiment.ts';
import { DEFAULT_DEMO_MODEL, DEFAULT_DEMO_TASKS, DEFAULT_MIRROR, syntheticDemoExperiment } from './defaults.ts';
import { decodeHash, encodeHash, UrlStateError } from './hashCodec.ts';
import { plainMessage } from './plainMessage.ts';
import { packSnapshot, snapshotMismatch, unpackSnapshot, type ResultSnapshot } from './snapshot.ts';

/**
 * Everything a link restores: the view, the experiment (validated by the one experiment schema), the view
 * options, the demo settings and, for "share results" links, a results snapshot.
 */

export const VIEWS = ['start', 'data', 'model', 'experiment', 'train', 'heads', 'correlation', 'selection', 'embeddings', 'results'] as const;
export type ViewName = (typeof VIEWS)[number];

const taskName = v.picklist(ALL_TASK_NAMES as [string, ...string[]], 'unknown task');
const int = (min: number, max: number) => v.pipe(v.number(), v.integer('must be an integer'), v.minValue(min), v.maxValue(max));

export const UiStateSchema = v.object({
  headsTask: v.optional(taskName),
  diffTask: v.optional(taskName),
  /** Heads view colour scale: the measure's own normalisation, per-layer L2 only, or raw magnitudes. */
  headsScale: v.optional(v.picklist(['measure', 'layer', 'raw']), 'measure'),
  corrMethod: v.optional(v.picklist(['kendall_tau_b', 'spearman']), 'kendall_tau_b'),
  corrPair: v.optional(v.tuple([taskName, taskName])),
  selectionTarget: v.optional(taskName),
  theme: v.optional(v.picklist(['auto', 'light', 'dark']), 'auto'),
});
export type UiState = v.InferOutput<typeof UiStateSchema>;

/** Same rules as the experiment's URL fields: http(s) or a relative path, never a link-local host. */
const webUrl = v.pipe(
  v.string(),
  v.maxLength(2048),
  v.check(isWebUrl, 'must be an http(s) URL or a relative path'),
  v.check((s) => !isLinkLocalUrl(s), 'a link-local address (169.254.x.x) is refused'),
);
const isHubRepo = (s: string) => /^[\w.-]+\/[\w.-]+$/.test(s) && !s.startsWith('.');

export const DemoSettingsSchema = v.object({
  mirror: v.optional(webUrl, DEFAULT_MIRROR),
  model: v.optional(
    v.pipe(
      v.string(),
      v.minLength(1),
      v.maxLength(2048),
      v.check(
        (s) => isHubRepo(s.trim()) || (isWebUrl(s.trim()) && !isLinkLocalUrl(s.trim())),
        'must be a Hub repo (owner/name), an http(s) URL or a relative path',
      ),
    ),
    DEFAULT_DEMO_MODEL,
  ),
  tasks: v.optional(v.pipe(v.array(taskName), v.minLength(1), v.maxLength(8)), [...DEFAULT_DEMO_TASKS]),
  rowsPerTask: v.optional(int(8, 100_000), 256),
  devRows: v.optional(int(0, 100_000), 128),
  importanceEvery: v.optional(int(1, 100_000), 16),
  probeRows: v.optional(int(1, 256), 32),
});
export type DemoSettings = v.InferOutput<typeof DemoSettingsSchema>;

const WireSchema = v.object({
  view: v.optional(v.picklist(VIEWS, 'unknown view'), 'start'),
  experiment: v.optional(v.unknown()),
  ui: v.optional(UiStateSchema, {}),
  demo: v.optional(DemoSettingsSchema, {}),
  snapshot: v.optional(v.unknown()),
});

export interface AppState {
  view: ViewName;
  experiment: Experiment;
  ui: UiState;
  demo: DemoSettings;
  snapshot: ResultSnapshot | null;
}

export function defaultAppState(): AppState {
  return {
    view: 'start',
    experiment: parseAppExperiment(syntheticDemoExperiment(), 'default experiment'),
    ui: v.parse(UiStateSchema, {}),
    demo: v.parse(DemoSettingsSchema, {}),
    snapshot: null,
  };
}

/** The hash (without `#`) for a state; the snapshot only when `withSnapshot`. */
export function encodeAppState(s: AppState, opts: { withSnapshot?: boolean } = {}): string {
  // Through the schemas, so the keys come in one order whatever order the page set them in: the same state
  // always gives the same hash, and a link reads back to exactly itself.
  return encodeHash({
    view: s.view,
    experiment: s.experiment,
    ui: v.parse(UiStateSchema, s.ui),
    demo: v.parse(DemoSettingsSchema, s.demo),
    ...(opts.withSnapshot && s.snapshot ? { snapshot: packSnapshot(s.snapshot) } : {}),
  });
}

export interface DecodedAppState {
  state: AppState;
  /** Why the link was not used, as plain text for the page (null when it was used or there was none). */
  error: string | null;
}

const MAX_LISTED = 4;
/** A hostile link can put a 60 kB string where a number belongs; messages quote values, so cap each line. */
const clip = (line: string) => (line.length > 160 ? `${line.slice(0, 157)}…` : line);

/** `path: message` with the message in the page's words. */
function plainLine(line: string): string {
  const at = line.indexOf(': ');
  return at < 0 ? line : `${line.slice(0, at)}: ${plainMessage(line.slice(at + 2))}`;
}

/** Reads a hash; anything wrong with it yields the default state and a message, never a throw. */
export function decodeAppState(hash: string): DecodedAppState {
  const text = hash.replace(/^#/, '');
  if (text === '') return { state: defaultAppState(), error: null };
  try {
    const raw = decodeHash(text);
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new UrlStateError('the link holds no Taskscope state object');
    const r = v.safeParse(WireSchema, raw);
    if (!r.success) {
      const lines = r.issues.slice(0, MAX_LISTED).map((i) => clip(`${v.getDotPath(i) ?? '(root)'}: ${plainMessage(i.message)}`));
      throw new UrlStateError(`the link's settings are invalid (${lines.join('; ')})`);
    }
    const w = r.output;
    const defaults = defaultAppState();
    let experiment = defaults.experiment;
    if (w.experiment !== undefined) {
      try {
        experiment = parseAppExperiment(w.experiment, 'experiment');
      } catch (e) {
        const lines = (e as Error).message
          .split('\n')
          .map((l) => l.trim())
          .filter((l) => l && !l.endsWith('invalid experiment config'))
          .map(plainLine);
        throw new UrlStateError(`the link's experiment is invalid (${lines.slice(0, MAX_LISTED).map(clip).join('; ')})`);
      }
    }
    let snapshot: ResultSnapshot | null = null;
    if (w.snapshot !== undefined) {
      try {
        snapshot = unpackSnapshot(w.snapshot);
      } catch (e) {
        throw new UrlStateError(`the link's results are invalid (${clip((e as Error).message)})`);
      }
      const mismatch = w.experiment !== undefined ? snapshotMismatch(snapshot, experiment) : null;
      if (mismatch) throw new UrlStateError(`the link's results do not fit its experiment (${clip(mismatch)})`);
    }
    return { state: { view: w.view, experiment, ui: w.ui, demo: w.demo, snapshot }, error: null };
  } catch (e) {
    const why = e instanceof UrlStateError ? e.message : `unexpected error (${(e as Error).message})`;
    return { state: defaultAppState(), error: `This link could not be opened: ${why}. Showing the defaults instead.` };
  }
}
