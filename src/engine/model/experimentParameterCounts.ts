import type { BertConfig } from '../checkpoint/types.ts';
import type { Experiment } from '../experiment/experimentSchema.ts';
import { syntheticVocabText } from '../synthetic/syntheticTasks.ts';
import { taskSpecFromRegistry, type TaskSpec } from './taskSpec.ts';
import type { HeadKind } from './heads/taskHead.ts';
import { bertParameterCount, variantParameterCounts } from './variants/parameterCounts.ts';
import { VARIANT_DEFAULTS, type VariantName, type VariantOptions } from './variants/variantConfig.ts';

/**
 * Parameter counts of an experiment's whole multi-task model (encoder, variant parts, task heads) from shapes
 * alone, so the page can show them without tensors and the CLI can record them. Every count is what
 * `buildMultiTaskModel` + `variantExtensionFor` allocate (tests/node/experimentParameterCounts.test.ts sums
 * the variables of built models to hold this to exact equality).
 */

export type ModelShape = Pick<BertConfig, 'vocabSize' | 'hiddenSize' | 'numHiddenLayers' | 'intermediateSize' | 'maxPositionEmbeddings' | 'typeVocabSize'>;

/** What a head's size depends on. */
export type HeadShape = Pick<TaskSpec, 'type' | 'numLabels'>;

export interface TaskParameterCount {
  task: string;
  headKind: HeadKind;
  /** Variant parameters this task owns (adapters, PALs, its rows of EmBERT's tables). */
  variant: number;
  head: number;
  /** variant + head. */
  total: number;
}

export interface ExperimentParameterCounts {
  variant: VariantName;
  /** The BERT encoder (embeddings, layers, pooler) every task shares. */
  sharedEncoder: number;
  /** Variant parameters no single task owns (Gated-BERT's gates). */
  variantShared: number;
  /** In the experiment's listed order. */
  tasks: TaskParameterCount[];
  total: number;
}

/** bert-base-uncased's vocab.txt, which a random `vocab: 'bert-base-uncased'` model is sized by. */
export const BERT_BASE_UNCASED_VOCAB_SIZE = 30522;

const linear = (inDim: number, outDim: number) => inDim * outDim + outDim;

/**
 * The variant options of an experiment (`variantExtensionFor` and the trainer worker build from these). The
 * seeds' other hard-coded options are VARIANT_DEFAULTS; Gated-BERT's gated_seq_len is the experiment's
 * maxLength, as the seed sets it from max_seq_length (its gate reads the whole padded sequence).
 */
export function experimentVariantOptions(exp: Experiment): VariantOptions {
  return {
    ...VARIANT_DEFAULTS,
    gatedSeqLen: exp.maxLength,
    variant: exp.variant.kind,
    numTasks: exp.tasks.length,
    hiddenSizeAug: exp.variant.hiddenSizeAug,
    palHeads: exp.variant.palHeads,
  };
}

/**
 * The encoder shape of a `model.kind: 'random'` experiment (as `randomBertConfig`); null for the other kinds,
 * whose shape is known only once their config.json is read.
 */
export function randomModelShape(exp: Experiment): ModelShape | null {
  const m = exp.model;
  if (m.kind !== 'random') return null;
  const vocabSize =
    m.vocab === 'synthetic'
      ? syntheticVocabText()
          .split('\n')
          .filter((w) => w !== '').length
      : BERT_BASE_UNCASED_VOCAB_SIZE;
  return { vocabSize, hiddenSize: m.hidden, numHiddenLayers: m.layers, intermediateSize: m.intermediate, maxPositionEmbeddings: 512, typeVocabSize: 2 };
}

/** The head `createTaskHead` builds for this task and choice, and its parameter count. */
export function headParameterCount(task: string, spec: HeadShape, choice: 'linear' | 'san', hiddenSize: number): { kind: HeadKind; count: number } {
  const H = hiddenSize;
  if (choice === 'san') {
    if (spec.type !== 'classification')
      throw new Error(`heads: ${task} is a ${spec.type} task; the SAN answer module is for classification only (use head "linear")`);
    // query_wsum H→1, bilinear attn H→H, classifier 4H→C, GRU cell (H→H): weight_ih, weight_hh [3H, H] and two [3H] biases.
    const gru = 2 * 3 * H * H + 2 * 3 * H;
    return { kind: 'san', count: linear(H, 1) + linear(H, H) + linear(4 * H, spec.numLabels) + gru };
  }
  switch (spec.type) {
    case 'classification':
      return { kind: 'classification', count: linear(H, spec.numLabels) };
    case 'regression':
      return { kind: 'regression', count: linear(H, 1) };
    case 'ranking':
      return { kind: 'ranking', count: linear(H, 1) };
  }
}

/**
 * Counts for `exp` on an encoder of `shape`. Task specs come from the GLUE registry unless `specs` has them
 * (the synthetic demo's tasks are not in it).
 */
export function experimentParameterCounts(exp: Experiment, shape: ModelShape, specs: Readonly<Record<string, HeadShape>> = {}): ExperimentParameterCounts {
  const v = variantParameterCounts(shape, experimentVariantOptions(exp));
  const tasks = exp.tasks.map((t): TaskParameterCount => {
    const spec = specs[t.name] ?? taskSpecFromRegistry(t.name);
    const head = headParameterCount(t.name, spec, t.head, shape.hiddenSize);
    return { task: t.name, headKind: head.kind, variant: v.perTask, head: head.count, total: v.perTask + head.count };
  });
  const sharedEncoder = bertParameterCount(shape);
  return {
    variant: v.variant,
    sharedEncoder,
    variantShared: v.extensionShared,
    tasks,
    total: sharedEncoder + v.extensionShared + tasks.reduce((a, t) => a + t.total, 0),
  };
}

const n = (x: number) => x.toLocaleString('en-US');

/** One line for logs: shared parts, each task's own parts, the total. */
export function describeParameterCounts(c: ExperimentParameterCounts): string {
  const tasks = c.tasks.map((t) => `${t.task} ${n(t.total)} (variant ${n(t.variant)} + ${t.headKind} head ${n(t.head)})`).join(', ');
  return `parameters (${c.variant}): shared encoder ${n(c.sharedEncoder)} + variant shared ${n(c.variantShared)}; per task ${tasks}; total ${n(c.total)}`;
}
