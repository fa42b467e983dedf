import * as v from 'valibot';
import { parseBertConfig, serializeBertConfig } from '../../checkpoint/bertConfig.ts';
import { CheckpointError, errorText } from '../../checkpoint/checkpointError.ts';
import type { BertConfig } from '../../checkpoint/types.ts';

/**
 * Which task-specific parts sit on the shared encoder, in the shape of the seeds' `configs/*.json`
 * (Gated_bert `embert_config.json`, Bert-n-Pals `pals_config.json`: BERT fields plus `our_attn`, `pals`, `mult`,
 * `hidden_size_aug`, `num_tasks`), with Taskscope's explicit `variant` and the options the seeds hard-code.
 * docs/methods.md §5.1, §5.3, §5.4.
 */

export const VARIANTS = ['mtdnn', 'embert', 'gated', 'pals'] as const;
export type VariantName = (typeof VARIANTS)[number];

export interface VariantOptions {
  variant: VariantName;
  /** T: how many tasks own task-specific parameters (the seeds set it at runtime: 8). */
  numTasks: number;
  /** r: Gated-BERT's low-rank adapter width and the PAL width (seed default 204, also for BERT-base). */
  hiddenSizeAug: number;
  /** Heads of each PAL's attention on the r-dimensional space (6 in Bert-n-Pals; must divide r). */
  palHeads: number;
  /** One PAL encoder V^E_i / decoder V^D_i per task for all layers (the seed), or one per layer and task. */
  palSharedProjections: boolean;
  /** Gated-BERT's gate reads the flattened [S·H] sequence, so every batch must be padded to exactly S (seed 128). */
  gatedSeqLen: number;
  /**
   * Width of Gated-BERT's five task embeddings c^{Q1}, c^{K1}, c^{Q2}, c^{K2}, c^V: 'scalar' = nn.Embedding(T, 1) as
   * docs/methods.md §5.3 (commit 1c2d4ae); 'hidden' = nn.Embedding(T, H), an element-wise scale, as another Gated_bert
   * revision (521bb9f) has it.
   */
  gatedTaskScale: 'scalar' | 'hidden';
}

export interface VariantConfig extends VariantOptions {
  bert: BertConfig;
}

export const VARIANT_DEFAULTS = {
  hiddenSizeAug: 204,
  palHeads: 6,
  palSharedProjections: true,
  gatedSeqLen: 128,
  gatedTaskScale: 'scalar',
} as const;

const FILE = 'variant_config.json';

const positiveInt = (field: string) =>
  v.pipe(
    v.number((i) => `field "${field}" must be a positive integer, got ${i.received}`),
    v.integer((i) => `field "${field}" must be a positive integer, got ${i.received}`),
    v.minValue(1, (i) => `field "${field}" must be a positive integer, got ${i.received}`),
  );
const bool = (field: string) => v.boolean((i) => `field "${field}" must be true or false, got ${i.received}`);

/** Seed switches for model kinds Taskscope does not implement (Bert-n-Pals' low_rank/top/houlsby/lhuc configs). */
const UNSUPPORTED_FLAGS = ['top', 'houlsby', 'lhuc', 'bert_lay_top'] as const;

const OptionsSchema = v.looseObject(
  {
    variant: v.optional(v.picklist(VARIANTS, (i) => `field "variant" must be one of ${VARIANTS.map((n) => `"${n}"`).join(', ')}, got ${i.received}`)),
    our_attn: v.optional(bool('our_attn')),
    pals: v.optional(bool('pals')),
    mult: v.optional(bool('mult')),
    top: v.optional(bool('top')),
    houlsby: v.optional(bool('houlsby')),
    lhuc: v.optional(bool('lhuc')),
    bert_lay_top: v.optional(bool('bert_lay_top')),
    num_tasks: v.optional(positiveInt('num_tasks')),
    hidden_size_aug: v.optional(positiveInt('hidden_size_aug')),
    pal_heads: v.optional(positiveInt('pal_heads')),
    pal_shared_projections: v.optional(bool('pal_shared_projections')),
    gated_seq_len: v.optional(positiveInt('gated_seq_len')),
    gated_task_scale: v.optional(v.picklist(['scalar', 'hidden'] as const, (i) => `field "gated_task_scale" must be "scalar" or "hidden", got ${i.received}`)),
  },
  (i) => `must hold a JSON object, got ${i.received}`,
);

type RawOptions = v.InferOutput<typeof OptionsSchema>;

/** The seed flags each variant implies (`our_attn` picks EmBERT attention; `pals` + `mult` the PALs). */
const IMPLIED_FLAGS: Record<VariantName, { our_attn: boolean; pals: boolean; mult: boolean }> = {
  mtdnn: { our_attn: false, pals: false, mult: false },
  embert: { our_attn: true, pals: false, mult: false },
  gated: { our_attn: true, pals: false, mult: false },
  pals: { our_attn: false, pals: true, mult: true },
};

function resolveVariant(o: RawOptions, problems: string[]): VariantName {
  for (const flag of UNSUPPORTED_FLAGS) {
    if (o[flag]) problems.push(`field "${flag}" is true, but that seed configuration is not implemented (variants: ${VARIANTS.join(', ')})`);
  }
  if (o.variant !== undefined) {
    const implied = IMPLIED_FLAGS[o.variant];
    for (const flag of ['our_attn', 'pals', 'mult'] as const) {
      if (o[flag] !== undefined && o[flag] !== implied[flag]) {
        problems.push(`field "${flag}" is ${o[flag]}, but variant "${o.variant}" needs ${implied[flag]}`);
      }
    }
    return o.variant;
  }
  // The seed configs carry no variant name. Gated-BERT is chosen by its script, not its json, so it must be named.
  const pals = o.pals ?? false;
  const mult = o.mult ?? false;
  if (pals !== mult) {
    problems.push(
      `fields "pals" (${pals}) and "mult" (${mult}) must both be true for PALs; Bert-n-Pals' low_rank adapter (mult without pals) is not implemented`,
    );
    return 'mtdnn';
  }
  if (pals && o.our_attn) {
    problems.push('fields "our_attn" and "pals" are both true; pick one variant with the field "variant"');
    return 'mtdnn';
  }
  if (pals) return 'pals';
  return o.our_attn ? 'embert' : 'mtdnn';
}

export interface ParseVariantOptions {
  /** Used when the file has no `num_tasks` (the seeds set it at runtime). */
  numTasks?: number;
  /** Name the errors start with. */
  file?: string;
}

/**
 * Reads the variant fields of a config object against the encoder's BERT config. Every problem is reported,
 * one `file: …` line each, naming the field.
 */
export function parseVariantOptions(raw: unknown, bert: BertConfig, opts: ParseVariantOptions = {}): VariantOptions {
  const file = opts.file ?? FILE;
  const result = v.safeParse(OptionsSchema, raw);
  if (!result.success) throw new CheckpointError(file, result.issues.map((i) => i.message).join(`\n${file}: `));
  const o = result.output;
  const problems: string[] = [];
  const variant = resolveVariant(o, problems);
  const numTasks = o.num_tasks ?? opts.numTasks;
  if (numTasks === undefined) {
    problems.push('missing required field "num_tasks" (the seeds set it at runtime: pass numTasks)');
  } else if (!Number.isInteger(numTasks) || numTasks < 1) {
    problems.push(`numTasks must be a positive integer, got ${numTasks}`);
  }
  const out: VariantOptions = {
    variant,
    numTasks: numTasks ?? 0,
    hiddenSizeAug: o.hidden_size_aug ?? VARIANT_DEFAULTS.hiddenSizeAug,
    palHeads: o.pal_heads ?? VARIANT_DEFAULTS.palHeads,
    palSharedProjections: o.pal_shared_projections ?? VARIANT_DEFAULTS.palSharedProjections,
    gatedSeqLen: o.gated_seq_len ?? VARIANT_DEFAULTS.gatedSeqLen,
    gatedTaskScale: o.gated_task_scale ?? VARIANT_DEFAULTS.gatedTaskScale,
  };
  if (variant === 'pals' && out.hiddenSizeAug % out.palHeads !== 0) {
    problems.push(
      `field "pal_heads" (${out.palHeads}) must divide hidden_size_aug (${out.hiddenSizeAug}): each PAL head gets ` +
        `hidden_size_aug / pal_heads dimensions (e.g. hidden_size_aug 24 or 48 with 6 heads for small models)`,
    );
  }
  if (variant === 'gated' && out.gatedSeqLen > bert.maxPositionEmbeddings) {
    problems.push(`field "gated_seq_len" (${out.gatedSeqLen}) exceeds max_position_embeddings (${bert.maxPositionEmbeddings})`);
  }
  if (problems.length > 0) throw new CheckpointError(file, problems.join(`\n${file}: `));
  return out;
}

/** A whole seed-style config file: BERT fields and variant fields together. */
export function parseVariantConfig(text: string, opts: ParseVariantOptions = {}): VariantConfig {
  const file = opts.file ?? FILE;
  const bert = parseBertConfig(text, file);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new CheckpointError(file, `not valid JSON (${errorText(e)})`);
  }
  return { bert, ...parseVariantOptions(raw, bert, { ...opts, file }) };
}

/** The variant fields in the seeds' snake_case, with the seed flags the variant implies. */
export function variantOptionsToJson(o: VariantOptions): Record<string, unknown> {
  return {
    variant: o.variant,
    ...IMPLIED_FLAGS[o.variant],
    num_tasks: o.numTasks,
    hidden_size_aug: o.hiddenSizeAug,
    pal_heads: o.palHeads,
    pal_shared_projections: o.palSharedProjections,
    gated_seq_len: o.gatedSeqLen,
    gated_task_scale: o.gatedTaskScale,
  };
}

export function serializeVariantConfig(c: VariantConfig): string {
  const bert = JSON.parse(serializeBertConfig(c.bert)) as Record<string, unknown>;
  return `${JSON.stringify({ ...bert, ...variantOptionsToJson(c) }, null, 2)}\n`;
}
