import { taskEntry, type Study } from './studyConfig.ts';
import type { RunResult } from './studyTable.ts';
import { importanceSection, selectionSection } from './plantedMapSections.ts';
import { fastmtlSection, gradtsFgSection } from './plantedInstanceSections.ts';
import { mtlSection, pruningSection } from './plantedRunSections.ts';

/**
 * The planted-relations fidelity tests (docs/planted-relations.md) over a finished study whose tasks are
 * PL-* tasks: each instrument against the relations planted by construction, with an exact one-sided p
 * (or two-sided, for score differences) and the wall time of each method beside its result. The report of a
 * study (markdown), from whatever runs have finished.
 */
export function plantedReport(study: Study, results: RunResult[]): string {
  const tasks = study.tasks.map((t) => taskEntry(t).name);
  return [
    `## Planted-relations fidelity (study \`${study.name}\`)`,
    '',
    ...importanceSection(study, tasks),
    ...selectionSection(study, tasks),
    ...fastmtlSection(study, tasks),
    ...mtlSection(study, results),
    ...pruningSection(study),
    ...gradtsFgSection(study, tasks),
  ].join('\n');
}
