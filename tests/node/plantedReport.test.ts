import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { plantedReport } from '../../src/cli/study/plantedReport.ts';
import { parseStudy } from '../../src/cli/study/studyConfig.ts';

const TASKS = ['PL-FIRST-LOW', 'PL-FIRST-EVEN', 'PL-MARK', 'PL-MARK-COUNT', 'PL-ORDER', 'PL-MATCH-ORDER'];
const dir = mkdtempSync(join(tmpdir(), 'planted-report-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A 2×4 map per skill; tasks sharing a skill get the same map, so every sharing pair has τ-b = 1. */
const SKILL_MAP: Record<string, number[][]> = {
  first: [
    [0.9, 0.1, 0.2, 0.3],
    [0.4, 0.5, 0.6, 0.7],
  ],
  mark: [
    [0.1, 0.9, 0.3, 0.2],
    [0.7, 0.6, 0.5, 0.4],
  ],
  order: [
    [0.3, 0.2, 0.9, 0.1],
    [0.5, 0.4, 0.7, 0.6],
  ],
};
const mapOf = (t: string) => SKILL_MAP[t.includes('FIRST') ? 'first' : t.includes('MARK') ? 'mark' : 'order'];

function writeJob(path: string, result: unknown) {
  mkdirSync(path, { recursive: true });
  writeFileSync(join(path, 'result.json'), JSON.stringify(result));
  writeFileSync(join(path, 'done.json'), JSON.stringify({ exitCode: 0, wallSeconds: 10, finishedAt: '', args: [] }));
}

describe('planted-relations report', () => {
  const studyFile = join(dir, 'study.json');
  const study = parseStudy(
    {
      name: 'pl',
      seeds: [1, 2],
      report: 'planted',
      out: join(dir, 'out'),
      base: {},
      tasks: TASKS,
      arms: [
        { name: 'importance', mode: 'select', selection: { method: 'gradts-trial', target: 'PL-MARK', maxTrials: 0, maskImportance: true } },
        { name: 'fastmtl-MARK', mode: 'select', selection: { method: 'fastmtl', target: 'PL-MARK' } },
      ],
    },
    studyFile,
  );
  for (const seed of [1, 2]) {
    const matrices = Object.fromEntries(TASKS.map((t) => [t, mapOf(t)]));
    writeJob(join(dir, 'out', 'importance', `seed-${seed}`), {
      method: 'gradts-trial',
      target: 'PL-MARK',
      chosen: [],
      wallSeconds: 60,
      reasons: {
        importance: { source: 'computed', matrices, wallSeconds: 60, mask: { matrices, wallSeconds: 6, tunedDev: { 'PL-MARK': { acc: 0.9 + seed / 100 } } } },
        trials: [],
      },
    });
    // Helper rows (PL-MARK-COUNT) score 0.8 and 0.6; distractors 0.7 and 0.1: AUC = (1 + 0 + 1 + 1) / 4 = 0.75.
    writeJob(join(dir, 'out', 'fastmtl-MARK', `seed-${seed}`), {
      method: 'fastmtl',
      target: 'PL-MARK',
      chosen: ['PL-MARK-COUNT'],
      wallSeconds: 30,
      reasons: {
        pools: {
          'PL-MARK-COUNT': { candidates: 2, chosen: 1, scores: [0.8, 0.6] },
          'PL-ORDER': { candidates: 1, chosen: 0, scores: [0.7] },
          'PL-FIRST-EVEN': { candidates: 1, chosen: 0, scores: [0.1] },
        },
      },
    });
  }
  const text = plantedReport(study, []);

  it('head-importance concordance: identical maps for sharing pairs give τ-b 1 and the smallest label-permutation p', () => {
    expect(text).toContain('| PL-FIRST-LOW – PL-FIRST-EVEN | yes | 1.000 ± 0.000 | 1.000, 1.000 |');
    // 3 sharing pairs of 15 at τ = 1, all others below: only 1 of C(15,3) = 455 labellings reaches the statistic.
    expect(text).toContain(`one-sided): **${(1 / 455).toFixed(3)}**`);
    expect(text).toContain('exact sign-flip p over seeds (one-sided): **0.250**'); // two seeds, both positive
    expect(text).toContain('| PL-MARK | 91.5 ± 0.7 | s1 91.0, s2 92.0 |');
  });

  it('selection: the top-1 by τ is the helper for every target with one, p = 0.2^2 per target', () => {
    const method = "top-1 by GradTS τ-b (GradTS-trial's first trial); wall = tuning + measuring all tasks";
    expect(text).toContain(`| ${method} | PL-MARK | 2 | s1: PL-MARK-COUNT; s2: PL-MARK-COUNT | 2 | 0.40 | 0.040 | 60 ± 0 |`);
    expect(text).toContain(`All targets, ${method}: 12 hits in 12 runs, 2.40 expected under random choice, p = **4.1e-9**.`);
  });

  it('FastMTL: AUC of helper rows against distractor rows, and the helper share of the selection', () => {
    expect(text).toContain('| PL-MARK | 1 | 0.750 | 1.000 | 0.500 | 30 |');
    expect(text).toContain('AUC over 2 runs: 0.750 ± 0.000; p(AUC > 0.5) = **0.250**');
  });
});

describe('the planted fidelity study file', () => {
  it('parses, and its base experiment with its tasks is a valid synthetic experiment', async () => {
    const { readFileSync } = await import('node:fs');
    const { parseExperiment } = await import('../../src/engine/experiment/experimentSchema.ts');
    const file = join(import.meta.dirname, '../../experiments/studies/planted-fidelity.json');
    const study = parseStudy(JSON.parse(readFileSync(file, 'utf8')), file);
    expect(study.report).toBe('planted');
    expect(study.seeds).toEqual([1, 2, 3, 4, 5]);
    const exp = parseExperiment({ ...study.base, tasks: study.tasks.map((t) => (typeof t === 'string' ? { name: t } : t)) }, file);
    expect(exp.tasks.map((t) => t.name)).toEqual(TASKS);
    expect(exp.model).toMatchObject({ kind: 'random', layers: 2, heads: 4, hidden: 64, vocab: 'synthetic' });
  });
});
