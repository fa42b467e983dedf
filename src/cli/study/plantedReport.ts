import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  curveArea,
  poissonBinomialTail,
  randomHitProbability,
  rocAuc,
  signFlipPValue,
  skillConcordance,
  type ConcordanceTest,
} from '../../engine/analysis/plantedFidelity.ts';
import type { HeadMatrix } from '../../engine/analysis/types.ts';
import { rankAuxiliaryTasks, taskCorrelationMatrix } from '../../engine/analysis/taskCorrelation.ts';
import { permutationPValue } from '../../engine/metrics/permutationTest.ts';
import { plantedHelpers, sharesSkill } from '../../engine/synthetic/plantedTasks.ts';
import { readDone } from './runStudy.ts';
import { armJobs, type StudyJob } from './studyJobs.ts';
import { taskEntry, type Study, type StudyArm } from './studyConfig.ts';
import { meanStd, type RunResult } from './studyTable.ts';

/**
 * The planted-relations fidelity tests (docs/planted-relations.md) over a finished study whose tasks are
 * PL-* tasks: each instrument against the relations planted by construction, with an exact one-sided p
 * (or two-sided, for score differences) and the wall time of each method beside its result.
 */

interface SelectFile {
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
  };
}

interface PruneFile {
  importanceSeconds: number;
  fractions: number[];
  importance: { points: { fraction: number; pruned: number; score: number }[] };
  random: { points: { score: number }[] }[];
}

const readJson = <T>(f: string): T => JSON.parse(readFileSync(f, 'utf8')) as T;
const f2 = (x: number) => x.toFixed(2);
const f3 = (x: number) => x.toFixed(3);
const pv = (p: number) => (p < 0.001 ? p.toExponential(1) : p.toFixed(3));
const ms = (xs: number[], scale = 1, digits = 3) => {
  const m = meanStd(xs);
  return `${(scale * m.mean).toFixed(digits)} ± ${(scale * m.std).toFixed(digits)}`;
};

function finished(study: Study, arm: StudyArm): StudyJob[] {
  let jobs: StudyJob[];
  try {
    jobs = armJobs(study, arm);
  } catch {
    return [];
  } // an arm that reads an earlier arm's result not there yet
  return jobs.filter((j) => readDone(j)?.exitCode === 0);
}

function selectResults(study: Study, arm: StudyArm): { seed: number; r: SelectFile }[] {
  return finished(study, arm).flatMap((j) =>
    existsSync(join(j.dir, 'result.json')) ? [{ seed: j.seed, r: readJson<SelectFile>(join(j.dir, 'result.json')) }] : [],
  );
}

const selectArms = (study: Study, method: string) =>
  study.arms.filter((a) => a.mode === 'select' && (a.selection as { method?: string } | undefined)?.method === method);

function concordanceLines(title: string, t: ConcordanceTest, wall: string): string[] {
  const rows = t.pairs.map((p) => `| ${p.a} – ${p.b} | ${p.shares ? 'yes' : 'no'} | ${ms(p.values)} | ${p.values.map(f3).join(', ')} |`);
  return [
    `**${title}** (${t.seeds.length} seeds: ${t.seeds.join(', ')}; ${wall})`,
    '',
    '| pair | shares a skill | τ-b mean ± sd | per seed |',
    '|---|---|---|---|',
    ...rows,
    '',
    `Mean τ-b of sharing pairs − pairs sharing nothing, per seed: ${t.differences.map(f3).join(', ')}; mean ${f3(t.statistic)}. ` +
      `Exact permutation p over which ${t.pairs.filter((p) => p.shares).length} of the ${t.pairs.length} pairs are labelled sharing (one-sided): **${pv(t.pairLabelP)}**; ` +
      `exact sign-flip p over seeds (one-sided): **${pv(t.seedSignFlipP)}**.`,
    '',
  ];
}

interface SeedMaps {
  gradts: Map<number, Record<string, HeadMatrix>>;
  mask: Map<number, Record<string, HeadMatrix>>;
  tunedDev: Map<number, Record<string, Record<string, number>>>;
  gradtsSeconds: number[];
  maskSeconds: number[];
}

/** Each seed's importance maps of every task, from the first GradTS run of that seed that computed them. */
function seedMaps(study: Study): SeedMaps {
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

function importanceSection(study: Study, tasks: string[]): string[] {
  const { gradts, mask, tunedDev, gradtsSeconds, maskSeconds } = seedMaps(study);
  const out = ['### 1. Head importance: do tasks sharing a skill have more similar maps?', ''];
  if (gradts.size === 0) return [...out, 'No finished GradTS run with computed matrices.', ''];
  if (tunedDev.size > 0) {
    out.push(
      "Dev accuracy ×100 of each task's tuned model, the model its maps were measured on (per seed):",
      '',
      '| task | mean ± sd | per seed |',
      '|---|---|---|',
    );
    for (const t of tasks) {
      const accs = [...tunedDev.entries()].filter(([, d]) => d[t]?.acc !== undefined).map(([s, d]) => ({ s, acc: d[t].acc }));
      if (accs.length)
        out.push(
          `| ${t} | ${ms(
            accs.map((a) => a.acc),
            100,
            1,
          )} | ${accs.map((a) => `s${a.s} ${(100 * a.acc).toFixed(1)}`).join(', ')} |`,
        );
    }
    out.push('');
  }
  out.push(
    ...concordanceLines(
      'GradTS measure',
      skillConcordance(gradts, tasks, sharesSkill),
      `tuning each task alone + measuring, all ${tasks.length} tasks: ${ms(gradtsSeconds, 1, 0)} s per seed`,
    ),
  );
  if (mask.size > 0)
    out.push(
      ...concordanceLines(
        'Mask measure (same tuned models, same rows)',
        skillConcordance(mask, tasks, sharesSkill),
        `measuring, beyond the tuning: ${ms(maskSeconds, 1, 1)} s per seed`,
      ),
    );
  return out;
}

/** Tasks of a selection that count as picked: GradTS-fg's are those it kept instances of. */
function picked(r: SelectFile): string[] {
  if (r.method === 'gradts-fg' && r.examples)
    return Object.entries(r.examples)
      .filter(([, e]) => e.length > 0)
      .map(([t]) => t);
  return r.chosen;
}

function selectionSection(study: Study, tasks: string[]): string[] {
  const out = [
    '### 2. Task selection: is a planted helper picked more often than by random choice?',
    '',
    'Hit = the picked auxiliary set contains a task sharing a skill with the target. Under random choice of the same number k of the c candidates, P(hit) = 1 − C(c−h, k)/C(c, k) (h helpers); p = exact P(hits ≥ observed) over the runs (Poisson-binomial; binomial when every k is equal), one-sided.',
    '',
    '| method | target | runs | picked per seed | hits | expected under random | p | selection wall s (mean ± sd) |',
    '|---|---|---|---|---|---|---|---|',
  ];
  const pooled = new Map<string, { hits: number; probs: number[] }>();
  const add = (method: string, target: string, runs: { seed: number; picks: string[]; wall: number }[]) => {
    if (runs.length === 0) return;
    const cands = tasks.filter((t) => t !== target);
    const helpers = plantedHelpers(target, cands);
    const probs = runs.map((r) => randomHitProbability(cands.length, helpers.length, r.picks.length));
    const hits = runs.filter((r) => r.picks.some((t) => helpers.includes(t))).length;
    const p = poissonBinomialTail(probs, hits);
    const acc = pooled.get(method) ?? { hits: 0, probs: [] };
    acc.hits += hits;
    acc.probs.push(...probs);
    pooled.set(method, acc);
    const per = runs.map((r) => `s${r.seed}: ${r.picks.join('+') || '∅'}`).join('; ');
    out.push(
      `| ${method} | ${target} | ${runs.length} | ${per} | ${hits} | ${f2(probs.reduce((s, x) => s + x, 0))} | ${pv(p)} | ${ms(
        runs.map((r) => r.wall),
        1,
        0,
      )} |`,
    );
  };
  // GradTS-trial tries the most correlated candidate first (with maxTrials 1 that is its choice): taken from
  // each seed's maps with every task as the target, for both measures.
  const maps = seedMaps(study);
  for (const [measure, bySeed, secs] of [
    ['GradTS', maps.gradts, maps.gradtsSeconds],
    ['mask', maps.mask, maps.maskSeconds],
  ] as const) {
    if (bySeed.size === 0) continue;
    // Every task's matrix is needed before any choice: the cost of a pick is the seed's whole measurement.
    const wall = meanStd(secs).mean;
    for (const target of tasks) {
      if (plantedHelpers(target, tasks).length === 0) continue;
      const runs = [...bySeed.entries()].map(([seed, m]) => {
        const ranked = rankAuxiliaryTasks(taskCorrelationMatrix(Object.fromEntries(tasks.map((t) => [t, m[t]])), 'kendall_tau_b'), target);
        return { seed, picks: ranked.length ? [ranked[0].task] : [], wall };
      });
      add(
        `top-1 by ${measure} τ-b (GradTS-trial's first trial)${measure === 'mask' ? '; wall = mask measurement beyond the shared tuning' : '; wall = tuning + measuring all tasks'}`,
        target,
        runs,
      );
    }
  }
  for (const method of ['gradts-trial', 'gradts-fg']) {
    for (const arm of selectArms(study, method)) {
      const rs = selectResults(study, arm).filter(({ r }) => r.method !== 'gradts-trial' || (r.reasons?.trials?.length ?? 0) > 0);
      if (rs.length)
        add(
          method,
          rs[0].r.target,
          rs.map(({ seed, r }) => ({ seed, picks: picked(r), wall: r.wallSeconds })),
        );
    }
  }
  // The random-task arms' own draws: an empirical check of the random baseline.
  for (const arm of study.arms.filter((a) => a.randomTasksLike)) {
    const from = study.arms.find((a) => a.name === arm.randomTasksLike!.arm)!;
    const target = (from.selection as { target: string }).target;
    const runs = finished(study, arm).map((j) => ({
      seed: j.seed,
      picks: (j.config.tasks as { name: string }[]).map((t) => t.name).filter((t) => t !== target),
      wall: 0,
    }));
    add('random tasks (drawn)', target, runs);
  }
  out.push('');
  for (const [method, { hits, probs }] of pooled) {
    out.push(
      `All targets, ${method}: ${hits} hits in ${probs.length} runs, ${f2(probs.reduce((s, x) => s + x, 0))} expected under random choice, p = **${pv(poissonBinomialTail(probs, hits))}**.`,
    );
  }
  out.push('');
  return out;
}

function fastmtlSection(study: Study, tasks: string[]): string[] {
  const out = [
    "### 3. FastMTL: does the discriminator rank helpers' instances above distractors'?",
    '',
    "AUC of p(target | x) over the unused training rows of the planted helpers (positives) against those of the other candidates (negatives); helper share = share of the selected rows that come from helpers, against the helpers' share of all candidate rows. p = exact sign-flip over runs of AUC − 0.5, one-sided.",
    '',
    '| target | seed | AUC | helper share of selected | helper share of candidates | selection wall s |',
    '|---|---|---|---|---|---|',
  ];
  const aucs: number[] = [];
  const walls: number[] = [];
  for (const arm of selectArms(study, 'fastmtl')) {
    for (const { seed, r } of selectResults(study, arm)) {
      const pools = r.reasons?.pools ?? {};
      const helpers = plantedHelpers(r.target, tasks);
      const pos = Object.entries(pools)
        .filter(([t]) => helpers.includes(t))
        .flatMap(([, p]) => p.scores ?? []);
      const neg = Object.entries(pools)
        .filter(([t]) => !helpers.includes(t))
        .flatMap(([, p]) => p.scores ?? []);
      if (pos.length === 0 || neg.length === 0) continue;
      const auc = rocAuc(pos, neg);
      aucs.push(auc);
      walls.push(r.wallSeconds);
      const sum = (f: (p: { candidates: number; chosen: number }) => number, only?: boolean) =>
        Object.entries(pools)
          .filter(([t]) => only === undefined || helpers.includes(t) === only)
          .reduce((s, [, p]) => s + f(p), 0);
      out.push(
        `| ${r.target} | ${seed} | ${f3(auc)} | ${f3(sum((p) => p.chosen, true) / sum((p) => p.chosen))} | ${f3(sum((p) => p.candidates, true) / sum((p) => p.candidates))} | ${r.wallSeconds.toFixed(0)} |`,
      );
    }
  }
  out.push('');
  if (aucs.length)
    out.push(`AUC over ${aucs.length} runs: ${ms(aucs)}; p(AUC > 0.5) = **${pv(signFlipPValue(aucs, 0.5))}**; selection wall ${ms(walls, 1, 0)} s.`, '');
  return out;
}

function mtlSection(study: Study, results: RunResult[]): string[] {
  const out = [
    '### 4. MTL on the target: selected auxiliaries vs random auxiliaries vs single-task',
    '',
    'Target dev accuracy ×100 at the end of training, mean ± sample sd over seeds. "selected" = GradTS-trial\'s trial with the chosen auxiliaries (the same recipe and seed as the other arms); p = exact two-sided permutation test over seeds.',
    '',
    '| target | arm | acc mean ± sd | per seed | wall s (mean) | p vs selected |',
    '|---|---|---|---|---|---|',
  ];
  for (const arm of selectArms(study, 'gradts-trial')) {
    const sel = selectResults(study, arm).filter(({ r }) => (r.reasons?.trials?.length ?? 0) > 0);
    if (sel.length === 0) continue;
    const target = sel[0].r.target;
    const rows: { name: string; runs: { seed: number; acc: number; wall: number }[] }[] = [];
    rows.push({
      name: 'selected (GradTS-trial)',
      runs: sel.flatMap(({ seed, r }) => {
        const t = r.reasons?.trials?.find((x) => x.tasks.slice(1).join() === r.chosen.join());
        return t ? [{ seed, acc: t.last.acc, wall: t.wallSeconds }] : [];
      }),
    });
    const random = study.arms.find((a) => a.randomTasksLike?.arm === arm.name);
    if (random)
      rows.push({
        name: `random auxiliaries (${random.name})`,
        runs: results.filter((r) => r.arm === random.name && r.task === target).map((r) => ({ seed: r.seed, acc: r.metrics.acc, wall: r.wallSeconds })),
      });
    for (const single of study.arms.filter((a) => a.mode === 'single')) {
      rows.push({
        name: `single-task (${single.name})`,
        runs: results.filter((r) => r.arm === single.name && r.task === target).map((r) => ({ seed: r.seed, acc: r.metrics.acc, wall: r.wallSeconds })),
      });
    }
    const base = rows[0].runs.map((r) => r.acc);
    for (const row of rows) {
      if (row.runs.length === 0) continue;
      const accs = row.runs.map((r) => r.acc);
      let p = '';
      if (row !== rows[0] && base.length) {
        try {
          p = pv(permutationPValue(base, accs));
        } catch {
          p = '–';
        }
      }
      out.push(
        `| ${target} | ${row.name} | ${ms(accs, 100, 2)} | ${row.runs.map((r) => `s${r.seed} ${(100 * r.acc).toFixed(1)}`).join(', ')} | ${meanStd(row.runs.map((r) => r.wall)).mean.toFixed(0)} | ${p} |`,
      );
    }
  }
  out.push('');
  return out;
}

function pruningSection(study: Study): string[] {
  const out = [
    '### 5. Pruning heads by importance vs random orders',
    '',
    "Mask importance on the target's first training rows of the single-task model; dev accuracy with the least important heads masked first vs random orders. Area = mean accuracy over the pruned fractions; p = exact sign-flip over runs of (importance area − mean random area), one-sided.",
    '',
  ];
  const diffs: number[] = [];
  for (const arm of study.arms.filter((a) => a.mode === 'prune')) {
    const byTask = new Map<string, { seed: number; f: PruneFile }[]>();
    for (const j of finished(study, arm)) {
      const file = join(j.dir, 'result.json');
      if (!existsSync(file)) continue;
      byTask.set(j.task!, [...(byTask.get(j.task!) ?? []), { seed: j.seed, f: readJson<PruneFile>(file) }]);
    }
    for (const [task, runs] of byTask) {
      const fractions = runs[0].f.fractions;
      out.push(
        `**${task}** (${runs.length} seeds; importance measured in ${ms(
          runs.map((r) => r.f.importanceSeconds),
          1,
          1,
        )} s)`,
        '',
        `| order | ${fractions.map((x) => `${Math.round(100 * x)}%`).join(' | ')} | area |`,
        `|---|${fractions.map(() => '---|').join('')}---|`,
      );
      const imp = runs.map((r) => r.f.importance.points.map((p) => p.score));
      const rnd = runs.map((r) => fractions.map((_, i) => meanStd(r.f.random.map((c) => c.points[i].score)).mean));
      const line = (name: string, curves: number[][]) =>
        `| ${name} | ${fractions.map((_, i) => (100 * meanStd(curves.map((c) => c[i])).mean).toFixed(1)).join(' | ')} | ${ms(curves.map(curveArea), 100, 1)} |`;
      out.push(line('importance', imp), line(`random (mean of ${runs[0].f.random.length} orders)`, rnd), '');
      const d = runs.map((_, i) => curveArea(imp[i]) - curveArea(rnd[i]));
      diffs.push(...d);
      out.push(`Area difference per seed ×100: ${d.map((x) => (100 * x).toFixed(1)).join(', ')}; p = **${pv(signFlipPValue(d))}**.`, '');
    }
  }
  if (diffs.length) out.push(`All targets: area difference ×100 ${ms(diffs, 100, 1)} over ${diffs.length} runs, p = **${pv(signFlipPValue(diffs))}**.`, '');
  return out;
}

/** The planted-relations report of a study (markdown), from whatever runs have finished. */
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
  ].join('\n');
}
