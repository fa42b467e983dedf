import type { Experiment } from '../engine/experiment/experimentSchema.ts';

/**
 * What a link may not do to the person who opens it: make a name render backwards or overdraw the page, or make
 * the page fetch from a host they never chose without saying so first.
 */

/** Bidi embeddings, overrides, isolates and marks: they reorder the text around them (U+202E flips it). */
const BIDI_CONTROLS = /[\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/gu;
/** Other invisible controls (C0/C1, zero-width) that have no business in a run name. */
// eslint-disable-next-line no-control-regex -- stripping control characters is the point
const CONTROLS = /[\u0000-\u001F\u007F-\u009F\u200B-\u200D\u2060\uFEFF]/gu;
/** A run of combining marks; a few per letter are real text (ệ has two), dozens stack up over the line. */
const MARK_RUN = /\p{M}+/gu;
export const MAX_MARKS_PER_CHAR = 2;

/** A name safe to show: bidi controls and invisible controls removed, runs of combining marks cut to two. */
export function cleanName(name: string): string {
  return name
    .replace(BIDI_CONTROLS, '')
    .replace(CONTROLS, '')
    .replace(MARK_RUN, (run) => (run.length > MAX_MARKS_PER_CHAR ? '' : run));
}

/** A place the page will fetch from when the experiment (or the GLUE demo) runs. */
export interface FetchTarget {
  /** The field, as the page labels it. */
  field: string;
  url: string;
  /** `host[:port]`; the page's own host for relative paths. */
  host: string;
}

function hostOf(url: string, base: string): string | null {
  try {
    return new URL(url, base).host;
  } catch {
    return null;
  }
}

const isRepo = (s: string) => /^[\w.-]+\/[\w.-]+$/.test(s.trim()) && !s.trim().startsWith('.');

/** Every URL the experiment and the demo settings would fetch from, resolved against the page. */
export function fetchTargets(exp: Experiment, demo: { mirror: string; model: string }, base: string): FetchTarget[] {
  const out: FetchTarget[] = [];
  const add = (field: string, url: string) => {
    const host = hostOf(url, base);
    if (host !== null) out.push({ field, url, host });
  };
  if (exp.model.kind === 'url') add('model URL', exp.model.url);
  if (exp.data.kind === 'hub') add('data mirror', exp.data.mirror);
  if (exp.data.kind === 'glue-url') add('GLUE URL', exp.data.url);
  add('demo mirror', demo.mirror);
  if (demo.model && !isRepo(demo.model)) add('demo model', demo.model);
  return out;
}

/** The hosts among `targets` that are not in `known` (each once, with the fields that name it). */
export function unknownHosts(targets: readonly FetchTarget[], known: ReadonlySet<string>): { host: string; fields: string[] }[] {
  const byHost = new Map<string, string[]>();
  for (const t of targets) {
    if (known.has(t.host)) continue;
    const fields = byHost.get(t.host) ?? [];
    if (!fields.includes(t.field)) fields.push(t.field);
    byHost.set(t.host, fields);
  }
  return [...byHost].map(([host, fields]) => ({ host, fields }));
}

/** Hosts trusted without asking: the page's own and the Hugging Face Hub (the defaults point there). */
export const DEFAULT_KNOWN_HOSTS = ['huggingface.co'] as const;
const STORAGE_KEY = 'taskscope.knownHosts';

/** The hosts this browser has fetched from or confirmed, plus the defaults and the page's own. */
export function loadKnownHosts(storage: Pick<Storage, 'getItem'> | null, pageHost: string): Set<string> {
  const out = new Set<string>([...DEFAULT_KNOWN_HOSTS, pageHost]);
  try {
    const raw = storage?.getItem(STORAGE_KEY);
    const list = raw ? (JSON.parse(raw) as unknown) : [];
    if (Array.isArray(list)) for (const h of list) if (typeof h === 'string' && h.length <= 260) out.add(h);
  } catch {
    // A damaged list only means asking again.
  }
  return out;
}

export function saveKnownHosts(storage: Pick<Storage, 'setItem'> | null, hosts: ReadonlySet<string>): void {
  try {
    storage?.setItem(STORAGE_KEY, JSON.stringify([...hosts].slice(-200)));
  } catch {
    // Private mode or a full quota: the confirmation is then asked again next time.
  }
}
