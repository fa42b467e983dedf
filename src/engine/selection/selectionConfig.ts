import * as v from 'valibot';
import { parseExperiment, type Experiment, type ExperimentInput } from '../experiment/experimentSchema.ts';
import { PRESETS } from '../experiment/presets.ts';
import { GRADTS_TUNE_CONFIG } from './gradtsTuneConfig.ts';
import { SELECTION_METHODS } from './selectionResult.ts';

/**
 * The `selection` section of an experiment file (and the CLI flags over it). The experiment's own fields give
 * the model, the data and the tasks (target + candidates, with per-task settings such as maxTrainRows); each
 * stage's training recipe comes from the seed paper's preset, then `selection.stages.all`, then `selection.stages.<stage>`:
 *   tune  — GradTS §3.1 single-task tuning before the head matrices (adamax 5e-5, 3 epochs, batch 4)
 *   trial — GradTS-trial runs and GradTS-fg training (preset 'gradts-trial')
 *   td    — FastMTL TD-MTDNN (preset 'fastmtl', 5 epochs, seed = tdSeed)
 *   train — FastMTL TO-MTDNN and the random baseline's training (preset 'fastmtl')
 */

const headMatrix = v.pipe(v.array(v.array(v.pipe(v.number(), v.finite()))), v.minLength(1));
const partialExperiment = v.optional(v.record(v.string(), v.unknown()));

export const SelectionConfigSchema = v.object({
  method: v.optional(v.picklist(SELECTION_METHODS as unknown as ['gradts-trial', 'gradts-fg', 'fastmtl', 'random'], 'unknown selection method')),
  target: v.optional(v.string()),
  /** FastMTL / random: total auxiliary examples (default 1000). */
  num: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0))),
  /** GradTS-fg θ (default 0.62). */
  threshold: v.optional(v.pipe(v.number(), v.finite())),
  /** The clean variants: GradTS-trial compares best with best; a CE discriminator is scored with softmax. */
  clean: v.optional(v.boolean()),
  lossKind: v.optional(v.picklist(['bce', 'ce'])),
  tdSeed: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0))),
  tdPerTask: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1))),
  /** The random baseline's draw seed. */
  seed: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0))),
  /** At most this many trials; 0 = compute the matrices and the candidate ranking only (chosen stays empty). */
  maxTrials: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0))),
  /** GradTS: measure head matrices on at most this many training rows per task. */
  maxMeasureRows: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1))),
  correlationMethod: v.optional(v.picklist(['kendall_tau_b', 'spearman'])),
  /** GradTS: also take the mask importance of each tuned model (reported beside the GradTS matrices; not used to choose). */
  maskImportance: v.optional(v.boolean()),
  /** Precomputed GradTS task-level matrices by task (skips tuning + measuring for gradts-trial). */
  importance: v.optional(v.record(v.string(), headMatrix)),
  /** GradTS-fg: the auxiliary set from an earlier GradTS-trial (skips the trials). */
  trialSelection: v.optional(v.array(v.string())),
  /** Train on target + selection after selecting (default true). */
  train: v.optional(v.boolean()),
  stages: v.optional(v.object({ all: partialExperiment, tune: partialExperiment, trial: partialExperiment, td: partialExperiment, train: partialExperiment })),
});

export type SelectionConfig = v.InferOutput<typeof SelectionConfigSchema>;
export type Stage = 'tune' | 'trial' | 'td' | 'train';

export function parseSelectionConfig(input: unknown, origin = 'selection'): SelectionConfig {
  const r = v.safeParse(SelectionConfigSchema, input ?? {});
  if (r.success) return r.output;
  const lines = r.issues.map((i) => `${origin}.${v.getDotPath(i) ?? '(root)'}: ${i.message}`);
  throw new Error(`invalid selection settings\n  ${lines.join('\n  ')}`);
}

/** Recipe fields a preset sets; maxLength stays the experiment's (the data is tokenized once for all stages). */
function presetRecipe(stage: Stage, tdSeed: number): Record<string, unknown> {
  const { maxLength: _ml, ...fastmtl } = PRESETS.fastmtl.config as Record<string, unknown>;
  const { maxLength: _ml2, ...trial } = PRESETS['gradts-trial'].config as Record<string, unknown>;
  switch (stage) {
    case 'tune':
      return { ...GRADTS_TUNE_CONFIG };
    case 'trial':
      return trial;
    case 'td':
      return { ...fastmtl, epochs: 5, seed: tdSeed };
    case 'train':
      return fastmtl;
  }
}

/** Validates a stage's experiment: `parseExperiment`, or the app's wrapper that also accepts the synthetic demo's tasks. */
export type ExperimentParser = (input: unknown, origin: string) => Experiment;

/** The experiment of one stage: the user's experiment ⊕ the stage's preset ⊕ stages.all ⊕ stages.<stage>. */
export function stageExperiment(base: ExperimentInput, sel: SelectionConfig, stage: Stage, parse: ExperimentParser = parseExperiment): Experiment {
  const all = sel.stages?.all ?? {};
  const own = sel.stages?.[stage] ?? {};
  const input = { ...base, ...presetRecipe(stage, sel.tdSeed ?? 205), ...all, ...own };
  return parse(input, `selection stage '${stage}'`);
}
