import type { Experiment } from '../../../engine/experiment/experimentSchema.ts';

/** Svelte binds an emptied number input as null: every number in the form may be null until it validates. */
type Editable<T> = T extends number
  ? number | null
  : T extends readonly (infer U)[]
    ? Editable<U>[]
    : T extends object
      ? { [K in keyof T]: Editable<T[K]> }
      : T;

/**
 * The Experiment view's form: a deep copy of an experiment that the fieldsets edit in place. It is only an
 * experiment once it parses (`parseAppExperiment(cleanDraft(…))`); until then the errors sit beside the fields.
 */
export type ExperimentDraft = Editable<Experiment>;
export type DraftModel = ExperimentDraft['model'];
export type DraftData = ExperimentDraft['data'];
export type DraftSampler = ExperimentDraft['sampler'];

/** Field path (as `fieldErrors` reads it from the schema's message) → message. */
export type DraftErrors = Record<string, string>;

export function draftOf(exp: Experiment | ExperimentDraft): ExperimentDraft {
  return JSON.parse(JSON.stringify(exp)) as ExperimentDraft;
}

/** Empty number fields bind null; optional fields then mean "not set". Edits `d` (a plain copy) and returns it. */
export function cleanDraft(d: ExperimentDraft): ExperimentDraft {
  for (const t of d.tasks ?? []) {
    for (const k of ['maxTrainRows', 'dropout', 'thresholdHoldout'] as const) if (t[k] === null || t[k] === undefined) delete t[k];
  }
  if (d.sampler && 'stepsPerEpoch' in d.sampler && (d.sampler.stepsPerEpoch === null || d.sampler.stepsPerEpoch === undefined)) delete d.sampler.stepsPerEpoch;
  if (d.siwlm && !d.siwlm.centralTask) delete d.siwlm.centralTask;
  return d;
}

/** A sampler of another kind, with that kind's defaults. */
export function samplerOfKind(kind: string): DraftSampler {
  if (kind === 'mtdnn') return { kind, mixOpt: 0, ratio: 0 };
  if (kind === 'temperature') return { kind, temperature: 2 };
  if (kind === 'anneal') return { kind, sizes: 'true' };
  return { kind: kind as 'proportional' | 'sqrt' | 'uniform' };
}

/** A model source of another kind; a picked folder is the one imported this session (`pickedFolder`). */
export function modelOfKind(kind: string, pickedFolder: string): DraftModel {
  if (kind === 'hub') return { kind, repo: 'google/bert_uncased_L-4_H-256_A-4', revision: 'main' };
  if (kind === 'url') return { kind, url: './mirror/fixtures/bert-tiny-arch-random' };
  if (kind === 'random') return { kind, layers: 2, hidden: 64, heads: 4, intermediate: 128, vocab: 'synthetic' };
  if (kind === 'dir') return { kind, path: pickedFolder };
  return { kind: kind as 'run', runId: '' };
}

/** A data source of another kind; the Hub's goes through the Start page's mirror, a picked folder is this session's. */
export function dataOfKind(kind: string, mirror: string, pickedFolder: string): DraftData {
  if (kind === 'hub') return { kind, mirror };
  if (kind === 'glue-url') return { kind, url: './mirror/glue' };
  if (kind === 'glue-dir') return { kind, path: pickedFolder };
  return { kind: kind as 'synthetic' };
}
