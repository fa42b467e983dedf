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
        { name: 'gradts-fg-MARK', mode: 'select', seeds: [1, 2, 3], selection: { method: 'gradts-fg', target: 'PL-MARK' } },
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
  // GradTS-fg: τ of each measured row per candidate (PL-MARK-COUNT is the helper), θ 0.62; null = NaN (no τ).
  const FG: Record<string, number[] | (number | null)[]>[] = [
    // Helper 0.7, 0.3 vs 0.65, 0.1, 0.2: 3 + 2 of 6 pairs → AUC 5/6; kept 0.7 and 0.65 → helper share 1/2 of 6 measured (2 helper).
    { 'PL-MARK-COUNT': [0.7, 0.3], 'PL-ORDER': [0.65, 0.1], 'PL-FIRST-EVEN': [0.2, null] },
    // Helper 0.5, 0.3 vs 0.6, 0.1, 0.2, 0.4: 3 + 2 of 8 → AUC 0.625; nothing reaches 0.62.
    { 'PL-MARK-COUNT': [0.5, 0.3], 'PL-ORDER': [0.6, 0.1], 'PL-FIRST-EVEN': [0.2, 0.4] },
    // Helper 0.1, 0.3 vs 0.2, 0.5, 0.62, 0: 1 + 2 of 8 → AUC 0.375; kept the distractor's 0.62 (θ is inclusive).
    { 'PL-MARK-COUNT': [0.1, 0.3], 'PL-ORDER': [0.2, 0.5], 'PL-FIRST-EVEN': [0.62, 0] },
  ];
  FG.forEach((scores, i) => {
    const perTask = Object.fromEntries(
      Object.entries(scores).map(([t, cs]) => {
        const uids = cs.flatMap((c, j) => (c !== null && c >= 0.62 ? [`${t}-${j}`] : []));
        return [t, { rows: [], uids, total: cs.length, correlations: cs, measuredUids: cs.map((_, j) => `${t}-${j}`) }];
      }),
    );
    writeJob(join(dir, 'out', 'gradts-fg-MARK', `seed-${i + 1}`), {
      method: 'gradts-fg',
      target: 'PL-MARK',
      chosen: Object.keys(perTask).filter((t) => perTask[t].uids.length > 0),
      examples: Object.fromEntries(Object.entries(perTask).map(([t, p]) => [t, p.uids])),
      wallSeconds: 100 + 10 * i,
      reasons: { threshold: 0.62, correlationMethod: 'kendall_tau_b', trialSelection: Object.keys(perTask), perTask },
    });
  });
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

  it('GradTS-fg per run: kept and measured counts, helper shares, mean τ and the AUC; a run that keeps nothing says so', () => {
    expect(text).toContain('| PL-MARK | 1 | 0.62 | 1 / 2 | 2 / 6 | 0.500 | 0.333 | 0.500 / 0.317 | 0.833 | 100 |');
    expect(text).toContain('| PL-MARK | 2 | 0.62 | 0 / 0 | 2 / 6 | – (none kept) | 0.333 | 0.400 / 0.325 | 0.625 | 110 |');
    expect(text).toContain('| PL-MARK | 3 | 0.62 | 0 / 1 | 2 / 6 | 0.000 | 0.333 | 0.200 / 0.330 | 0.375 | 120 |');
    expect(text).toContain('No measured row reached θ in 1 of 3 runs');
    expect(text).toContain('1 measured rows had no τ (a constant instance matrix)');
  });

  it('GradTS-fg pooled: mean AUC and the exact sign-flip p, with the pass rule and the wall time', () => {
    // AUC − 0.5 = 1/3, 1/8, −1/8 (sum 1/3): of the 8 sign flips, +++ (7/12), ++− and +−+ (1/3 each) reach 1/3 → p = 3/8.
    // Mean (5/6 + 5/8 + 3/8)/3 = 0.6111; sample sd 0.2295 (by hand: squared deviations 0.04938 + 0.00019 + 0.05574, over 2).
    expect(text).toContain('AUC over 3 runs: 0.611 ± 0.229; p(AUC > 0.5) = **0.375** (pass = p < 0.05: fails); selection wall 110 ± 10 s.');
  });

  it('GradTS-fg selection: a task counts as picked when it kept one of its rows', () => {
    // k = 2, 0, 1 picks: P(hit) under random choice 1 − C(4,2)/C(5,2) = 0.4, 0, 0.2; 1 hit, P(X ≥ 1) = 1 − 0.6·0.8 = 0.52.
    expect(text).toContain('| gradts-fg | PL-MARK | 3 | s1: PL-MARK-COUNT+PL-ORDER; s2: ∅; s3: PL-FIRST-EVEN | 1 | 0.60 | 0.520 | 110 ± 10 |');
  });
});

describe('planted-relations report without finished GradTS-fg runs', () => {
  it('says so under the section title instead of an empty table', () => {
    const arms = [{ name: 'gradts-fg-MARK', mode: 'select', selection: { method: 'gradts-fg', target: 'PL-MARK' } }];
    const text = plantedReport(parseStudy({ name: 'pl0', seeds: [1], out: join(dir, 'empty'), base: {}, tasks: TASKS, arms }, join(dir, 'study0.json')), []);
    expect(text).toContain("### 6. GradTS-fg: does the instance filter rank helpers' rows above distractors'?");
    expect(text).toContain(
      'Wall = the whole selection: tuning and measuring the target and every candidate alone, and the correlations.\n\nNo finished GradTS-fg run.',
    );
    expect(text).not.toContain('| target | seed | θ |');
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
    // Arms are only ever appended (finished runs are kept by arm name and seed); GradTS-fg's instance filter sees every candidate.
    expect(study.arms.map((a) => a.name)).toEqual([
      'importance',
      'fastmtl-MARK',
      'single',
      'prune-single',
      'fastmtl-FIRST-LOW',
      'gradts-trial-MARK',
      'random-tasks-MARK',
      'gradts-fg-MARK',
      'gradts-fg-FIRST-LOW',
    ]);
    for (const arm of study.arms.filter((a) => a.selection?.method === 'gradts-fg')) {
      const sel = arm.selection as { target: string; trialSelection: string[] };
      expect(sel.trialSelection).toEqual(TASKS.filter((t) => t !== sel.target));
    }
  });
});
