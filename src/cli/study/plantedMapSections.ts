import { poissonBinomialTail, randomHitProbability, skillConcordance, type ConcordanceTest } from '../../engine/analysis/plantedFidelity.ts';
import { rankAuxiliaryTasks, taskCorrelationMatrix } from '../../engine/analysis/taskCorrelation.ts';
import { plantedHelpers, sharesSkill } from '../../engine/synthetic/plantedTasks.ts';
import type { Study } from './studyConfig.ts';
import { meanStd } from './studyTable.ts';
import { finished, seedMaps, selectArms, selectResults, type SelectFile } from './plantedResults.ts';
import { f2, f3, ms, pv } from './reportNumbers.ts';

/** Sections 1 and 2 of the planted report: head-importance maps against the planted skills, and task selection. */

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

export function importanceSection(study: Study, tasks: string[]): string[] {
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

export function selectionSection(study: Study, tasks: string[]): string[] {
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
