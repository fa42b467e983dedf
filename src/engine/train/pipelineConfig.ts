import * as v from 'valibot';
import { TASK_NAMES, getTask } from '../../../datasets/glueTasks.ts';
import type { TaskName } from '../../../datasets/types.ts';
import { ExperimentSchema, TaskEntrySchema, parseExperiment, type Experiment, type ExperimentInput } from '../experiment/experimentSchema.ts';
import { submissionTargets } from './submission.ts';

/**
 * `pipeline.json`: the MT-DNN recipe as one config (docs/methods.md §1.8–1.9, §2.5):
 *   {
 *     "mtl": <experiment>,                        multi-task training (SAN heads allowed)
 *     "finetune": { "tasks": [...], ...overrides, "kd"?: {...} },
 *                                                 each target task from the stripped encoder with a fresh
 *                                                 linear head; overrides are experiment fields on top of mtl's,
 *                                                 and a task keeps its mtl entry's dropout, trainFraction and
 *                                                 maxTrainRows unless its finetune entry says otherwise
 *     "predict"?: { "teacher"?: { "splits"?: ["train"], "ensembleWith"?: ["<other run>"] } },
 *                                                 also write soft labels (knowledge distillation teachers)
 *     "submit": true | { "partial": true }         the GLUE zip; true = all 11 files, so every GLUE task
 *   }                                               (and MNLI, which predicts AX) must be fine-tuned
 */

const taskName = v.picklist(TASK_NAMES as unknown as [string, ...string[]], 'unknown GLUE task');

const KdSchema = v.object({
  /** 'kl' = the first MT-DNN-KD loss (C · KLDiv), 'mse' = the yml-era kd_loss (docs/methods.md §1.12). */
  variant: v.optional(v.picklist(['kl', 'mse']), 'mse'),
  /** Soft-label files per task; several files for a task are averaged (an ensemble of teachers). */
  teachers: v.record(taskName, v.pipe(v.array(v.pipe(v.string(), v.minLength(1))), v.minLength(1, 'at least one soft-label file'))),
});

const FinetuneSchema = v.looseObject({
  tasks: v.pipe(v.array(v.union([taskName, TaskEntrySchema])), v.minLength(1, 'at least one task to fine-tune')),
  kd: v.optional(KdSchema),
});

const SPLITS = ['train', 'dev', 'test', 'dev_matched', 'dev_mismatched', 'test_matched', 'test_mismatched'] as const;

const PipelineSchema = v.object({
  name: v.optional(v.pipe(v.string(), v.maxLength(200))),
  mtl: v.optional(v.unknown()),
  finetune: FinetuneSchema,
  predict: v.optional(
    v.object({
      teacher: v.optional(
        v.object({
          splits: v.optional(v.pipe(v.array(v.picklist(SPLITS)), v.minLength(1)), ['train']),
          /** Other runs whose predictions on the same splits are averaged with this run's (an ensemble). */
          ensembleWith: v.optional(v.array(v.pipe(v.string(), v.minLength(1))), []),
        }),
      ),
    }),
    {},
  ),
  submit: v.optional(v.union([v.boolean(), v.object({ partial: v.optional(v.boolean(), false) })]), false),
});

export type PipelineConfigInput = v.InferInput<typeof PipelineSchema>;

export interface PipelineConfig {
  name: string;
  mtl: Experiment;
  finetune: {
    tasks: TaskName[];
    /** The fine-tuning experiment of each task (mtl's fields, the overrides, one linear-head task). */
    experiments: Record<string, Experiment>;
    kd: { variant: 'kl' | 'mse'; teachers: Record<string, string[]> } | null;
  };
  predict: { teacher: { splits: string[]; ensembleWith: string[] } | null };
  submit: { enabled: boolean; partial: boolean };
}

/** Experiment fields the fine-tuning runs do not take from mtl: each has its own task, model and name. */
const NOT_INHERITED = ['tasks', 'name', 'model', 'siwlm', 'sampler', 'variant'] as const;
/** Fields a finetune override may not set. */
const FIXED_BY_PIPELINE = ['version', 'name', 'model', 'data', 'variant', 'siwlm', 'sampler'] as const;

function issues(r: { issues: v.BaseIssue<unknown>[] }): string {
  return r.issues.map((i) => `${v.getDotPath(i) ?? '(root)'}: ${i.message}`).join('\n  ');
}

/** Validates `pipeline.json`; errors name the field (`finetune.tasks.1`, `finetune (RTE): optimizer.lr`, …). */
export function parsePipelineConfig(input: unknown, origin = 'pipeline config'): PipelineConfig {
  const r = v.safeParse(PipelineSchema, input);
  if (!r.success) throw new Error(`${origin}: invalid pipeline config\n  ${issues(r)}`);
  const raw = r.output;
  if (raw.mtl === undefined) throw new Error(`${origin}: invalid pipeline config\n  mtl: the multi-task experiment is missing`);
  const mtl = parseExperiment(raw.mtl, `${origin} mtl`);
  if (mtl.variant.kind !== 'mtdnn') {
    throw new Error(`${origin}: mtl.variant.kind: the MT-DNN pipeline strips to a plain BERT encoder; variant ${mtl.variant.kind} is not supported`);
  }
  const mtlInput = raw.mtl as ExperimentInput;
  const { tasks: ftTasks, kd, ...overrides } = raw.finetune;
  for (const k of Object.keys(overrides)) {
    if (!(k in ExperimentSchema.entries)) throw new Error(`${origin}: finetune.${k}: not an experiment field`);
    if ((FIXED_BY_PIPELINE as readonly string[]).includes(k))
      throw new Error(`${origin}: finetune.${k}: set by the pipeline (the stripped encoder, mtl's data, one linear-head task); it cannot be overridden`);
  }
  const fromMtlExperiment: Record<string, unknown> = { ...mtlInput };
  for (const k of NOT_INHERITED) delete fromMtlExperiment[k];

  const experiments: Record<string, Experiment> = {};
  const tasks: TaskName[] = [];
  for (const entry of ftTasks) {
    const given = typeof entry === 'string' ? { name: entry } : entry;
    const name = getTask(given.name).name;
    if (experiments[name]) throw new Error(`${origin}: finetune.tasks: ${name} is listed twice`);
    const fromMtl = mtl.tasks.find((t) => t.name === name);
    // The mtl entry's data settings carry over (a quick run's maxTrainRows); the head is always MT-DNN's linear one.
    const inherited = fromMtl ? { dropout: fromMtl.dropout, trainFraction: fromMtl.trainFraction, maxTrainRows: fromMtl.maxTrainRows } : {};
    const task = { ...inherited, ...given, head: 'linear' as const };
    const base = mtl.name || 'pipeline';
    experiments[name] = parseExperiment(
      {
        ...fromMtlExperiment,
        ...overrides,
        name: `${base}/finetune/${name}`,
        model: { kind: 'run', runId: 'strip' },
        tasks: [task],
      },
      `${origin} finetune (${name})`,
    );
    tasks.push(name);
  }
  if (kd) {
    for (const t of Object.keys(kd.teachers)) {
      if (!tasks.includes(t as TaskName)) throw new Error(`${origin}: finetune.kd.teachers.${t}: ${t} is not a fine-tuned task (${tasks.join(', ')})`);
      if (getTask(t).type !== 'classification')
        throw new Error(`${origin}: finetune.kd.teachers.${t}: ${t} is a ${getTask(t).type} task; only classification tasks take soft labels`);
    }
  }

  const submit = raw.submit === false ? { enabled: false, partial: false } : { enabled: true, partial: raw.submit === true ? false : raw.submit.partial };
  if (submit.enabled && !submit.partial) {
    const predicted = new Set<string>(tasks);
    if (predicted.has('MNLI')) predicted.add('AX');
    const missing = submissionTargets().filter((t) => !predicted.has(t.task.name));
    if (missing.length) {
      throw new Error(
        `${origin}: submit: a full GLUE submission needs fine-tuned models for ${[...new Set(missing.map((t) => (t.task.name === 'AX' ? 'MNLI (for AX)' : t.task.name)))].join(', ')}; add them to finetune.tasks or use "submit": {"partial": true}`,
      );
    }
  }
  const teacher = raw.predict.teacher ?? null;
  return {
    name: raw.name ?? mtl.name,
    mtl,
    finetune: { tasks, experiments, kd: kd ? { variant: kd.variant, teachers: kd.teachers as Record<string, string[]> } : null },
    predict: { teacher: teacher ? { splits: teacher.splits, ensembleWith: teacher.ensembleWith } : null },
    submit,
  };
}
