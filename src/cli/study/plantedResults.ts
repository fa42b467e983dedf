import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { HeadMatrix } from '../../engine/analysis/types.ts';
import { readDone } from './runStudy.ts';
import { armJobs, type StudyJob } from './studyJobs.ts';
import type { Study, StudyArm } from './studyConfig.ts';

/** The finished runs of a planted study as the report reads them: selection and pruning results, importance maps. */

export interface SelectFile {
  method: string;
  target: string;
  chosen: string[];
  wallSeconds: number;
  examples?: Record<string, string[]>;
  reasons?: {
    importance?: {
      source: string;
      matrices: Record<string, HeadMatrix>;
      wallSeconds: number;
      mask?: { matrices: Record<string, HeadMatrix>; wallSeconds: number; tunedDev?: Record<string, Record<string, number>> };
    };
    correlations?: { task: string; correlation: number }[];
    trials?: { k: number; tasks: string[]; last: Record<string, number>; wallSeconds: number }[];
    pools?: Record<string, { candidates: number; chosen: number; scores?: number[] }>;
    trial?: { trials?: { tasks: string[] }[] } | null;
    /** GradTS-fg: θ, and per candidate the kept uids and the τ of every measured row (NaN is written as null). */
    threshold?: number;
    perTask?: Record<string, { uids: string[]; correlations: (number | null)[] }>;
    skipped?: string;
  };
}

export interface PruneFile {
  importanceSeconds: number;
  fractions: number[];
  importance: { points: { fraction: number; pruned: number; score: number }[] };
  random: { points: { score: number }[] }[];
}

export const readJson = <T>(f: string): T => JSON.parse(readFileSync(f, 'utf8')) as T;

export function finished(study: Study, arm: StudyArm): StudyJob[] {
  let jobs: StudyJob[];
  try {
    jobs = armJobs(study, arm);
  } catch {
    return [];
  } // an arm that reads an earlier arm's result not there yet
  return jobs.filter((j) => readDone(j)?.exitCode === 0);
}

export function selectResults(study: Study, arm: StudyArm): { seed: number; r: SelectFile }[] {
  return finished(study, arm).flatMap((j) =>
    existsSync(join(j.dir, 'result.json')) ? [{ seed: j.seed, r: readJson<SelectFile>(join(j.dir, 'result.json')) }] : [],
  );
}

export const selectArms = (study: Study, method: string) =>
  study.arms.filter((a) => a.mode === 'select' && (a.selection as { method?: string } | undefined)?.method === method);

export interface SeedMaps {
  gradts: Map<number, Record<string, HeadMatrix>>;
  mask: Map<number, Record<string, HeadMatrix>>;
  tunedDev: Map<number, Record<string, Record<string, number>>>;
  gradtsSeconds: number[];
  maskSeconds: number[];
}

/** Each seed's importance maps of every task, from the first GradTS run of that seed that computed them. */
export function seedMaps(study: Study): SeedMaps {
  const m: SeedMaps = { gradts: new Map(), mask: new Map(), tunedDev: new Map(), gradtsSeconds: [], maskSeconds: [] };
  for (const arm of selectArms(study, 'gradts-trial')) {
    for (const { seed, r } of selectResults(study, arm)) {
      const imp = r.reasons?.importance;
      if (imp?.source !== 'computed' || m.gradts.has(seed)) continue;
      m.gradts.set(seed, imp.matrices);
      m.gradtsSeconds.push(imp.wallSeconds);
      if (imp.mask) {
        m.mask.set(seed, imp.mask.matrices);
        m.maskSeconds.push(imp.mask.wallSeconds);
        if (imp.mask.tunedDev) m.tunedDev.set(seed, imp.mask.tunedDev);
      }
    }
  }
  return m;
}
