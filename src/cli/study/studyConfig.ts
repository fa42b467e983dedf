import * as v from 'valibot';
import { isAbsolute, resolve } from 'node:path';

/**
 * A study: one experiment recipe run over several arms × tasks × seeds, so that a comparison in the README
 * is one file and one command (`taskscope study <study.json>`). Paths inside are relative to the study file.
 *
 *   mode single    one `train` run per task and seed (each task alone)
 *   mode multi     one `train` run per seed on all tasks together (the arm's own tasks list if given)
 *   mode pipeline  one `pipeline` run per seed: MT-DNN on all tasks, strip, fine-tune each (arm.finetune overrides)
 *   mode select    one `select` run per seed (arm.selection: method, target, settings; the seed is the data
 *                  seed as in train jobs, the train and trial stages' seed and, for the random method, the draw's)
 *   mode prune     one `prune` run per task and seed on the checkpoint of an earlier single arm (`modelFrom`),
 *                  same task and seed; arm.prune sets importanceRows, randomOrders, fractions
 * `tasksFrom` makes a multi arm train on [target, ...chosen] of an earlier select arm's result (its first seed,
 * or `"seed": "same"`: the result of the same seed as the run's).
 */

const record = v.record(v.string(), v.unknown());
/** An earlier arm's result: its first seed, a given seed, or "same" (the seed of the run that reads it). */
const armRef = v.object({ arm: v.string(), seed: v.optional(v.union([v.number(), v.literal('same')])) });

const ArmSchema = v.object({
  name: v.pipe(v.string(), v.regex(/^[\w.-]+$/, 'letters, digits, . _ - only')),
  mode: v.picklist(['single', 'multi', 'pipeline', 'select', 'prune']),
  experiment: v.optional(record, {}),
  tasks: v.optional(v.array(v.union([v.string(), record]))),
  finetune: v.optional(record, {}),
  selection: v.optional(record),
  tasksFrom: v.optional(armRef),
  /** A multi arm on [target, k random candidates], k = how many an earlier select arm chose; a new draw per seed. */
  randomTasksLike: v.optional(armRef),
  /** A select arm that reuses the GradTS head matrices an earlier gradts select arm computed (its first seed). */
  importanceFrom: v.optional(armRef),
  /** A gradts-fg select arm that filters the rows of the auxiliary tasks an earlier gradts-trial arm chose (GradTS §3.3). */
  trialSelectionFrom: v.optional(armRef),
  /** A prune arm: the single arm whose checkpoints it prunes. */
  modelFrom: v.optional(v.object({ arm: v.string() })),
  /** A prune arm's settings: importanceRows, randomOrders, fractions (as the prune command's flags). */
  prune: v.optional(v.object({ importanceRows: v.optional(v.number()), randomOrders: v.optional(v.number()), fractions: v.optional(v.array(v.number())) })),
  /**
   * A select arm whose every stage (GradTS tuning, FastMTL's TD-MTDNN and TD sample) takes the run's seed, so
   * seeds are independent replicates; without it those stages keep their presets' fixed seeds.
   */
  seedAllStages: v.optional(v.boolean()),
  /** Seeds of this arm (default: the study's). */
  seeds: v.optional(v.pipe(v.array(v.pipe(v.number(), v.integer())), v.minLength(1))),
});

const StudySchema = v.object({
  name: v.pipe(v.string(), v.regex(/^[\w.-]+$/, 'letters, digits, . _ - only')),
  about: v.optional(v.string(), ''),
  vocab: v.optional(v.string()),
  out: v.optional(v.string()),
  seeds: v.pipe(v.array(v.pipe(v.number(), v.integer())), v.minLength(1)),
  base: record,
  tasks: v.pipe(v.array(v.union([v.string(), record])), v.minLength(1)),
  arms: v.pipe(v.array(ArmSchema), v.minLength(1)),
  /** An extra analysis under the table: "planted" = the planted-relations fidelity tests (docs/planted-relations.md). */
  report: v.optional(v.picklist(['planted'])),
  /** The arm the others are compared with, seed by seed, under the main table (difference and permutation p). */
  baseline: v.optional(v.string()),
});

export type StudyArm = v.InferOutput<typeof ArmSchema>;
export type Study = v.InferOutput<typeof StudySchema> & { dir: string; outDir: string };

type TaskEntry = Record<string, unknown> & { name: string };

export function taskEntry(t: string | Record<string, unknown>): TaskEntry {
  return (typeof t === 'string' ? { name: t } : t) as TaskEntry;
}

export function parseStudy(input: unknown, file: string): Study {
  const r = v.safeParse(StudySchema, input);
  if (!r.success) {
    throw new Error(`${file}: invalid study\n  ${r.issues.map((i) => `${v.getDotPath(i) ?? '(root)'}: ${i.message}`).join('\n  ')}`);
  }
  const dir = resolve(file, '..');
  const s = r.output;
  const names = s.arms.map((a) => a.name);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup) throw new Error(`${file}: arms: ${dup} is listed twice`);
  if (s.baseline !== undefined && !names.includes(s.baseline)) throw new Error(`${file}: baseline: ${s.baseline} is not one of the arms (${names.join(', ')})`);
  for (const a of s.arms) {
    if (a.mode === 'select' && !a.selection) throw new Error(`${file}: arm ${a.name}: mode select needs a "selection" object`);
    if (a.mode === 'prune') {
      const from = s.arms.slice(0, names.indexOf(a.name)).find((b) => b.name === a.modelFrom?.arm);
      if (!from || from.mode !== 'single') throw new Error(`${file}: arm ${a.name}: mode prune needs "modelFrom": {"arm": <an earlier single arm>}`);
    }
    for (const key of ['tasksFrom', 'randomTasksLike', 'importanceFrom', 'trialSelectionFrom', 'modelFrom'] as const) {
      const ref = a[key];
      if (ref && !names.slice(0, names.indexOf(a.name)).includes(ref.arm))
        throw new Error(`${file}: arm ${a.name}: ${key}.arm ${ref.arm} is not an earlier arm`);
    }
  }
  return { ...s, dir, outDir: resolve(dir, s.out ?? `../../runs/studies/${s.name}`) };
}

/** Study-relative paths of the data folder and a model folder, made absolute for the job's config file. */
export function absolutePaths(exp: Record<string, unknown>, dir: string): Record<string, unknown> {
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(dir, p));
  const out = { ...exp };
  const data = out.data as { kind?: string; path?: string } | undefined;
  if (data?.kind === 'glue-dir' && data.path) out.data = { ...data, path: abs(data.path) };
  const model = out.model as { kind?: string; path?: string } | undefined;
  if (model?.kind === 'dir' && model.path) out.model = { ...model, path: abs(model.path) };
  return out;
}
