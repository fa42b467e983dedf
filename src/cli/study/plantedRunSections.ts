import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { curveArea, signFlipPValue } from '../../engine/analysis/plantedFidelity.ts';
import { permutationPValue } from '../../engine/metrics/permutationTest.ts';
import type { Study } from './studyConfig.ts';
import { meanStd, type RunResult } from './studyTable.ts';
import { finished, readJson, selectArms, selectResults, type PruneFile } from './plantedResults.ts';
import { ms, pv } from './reportNumbers.ts';

/** Sections 4 and 5 of the planted report: MTL with the selection, pruning by importance. */

export function mtlSection(study: Study, results: RunResult[]): string[] {
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

export function pruningSection(study: Study): string[] {
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
