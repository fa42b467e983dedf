import { parseBertConfig } from '../checkpoint/bertConfig.ts';
import type { BertCheckpoint, BertConfig } from '../checkpoint/types.ts';
import type { Experiment } from '../experiment/experimentSchema.ts';
import { BertEncoder } from './bertEncoder.ts';
import type { EncoderExtension } from './encoderExtension.ts';
import { createVariantExtension } from './variants/createVariantExtension.ts';
import { experimentVariantOptions } from './experimentParameterCounts.ts';
import type { VariantExtension } from './variants/variantExtension.ts';
import { MultiTaskModel } from './multiTaskModel.ts';
import { taskSpecFromRegistry, type TaskSpec } from './taskSpec.ts';
import { runTaskOrder } from '../train/microBatchSchedule.ts';

type RandomModel = Extract<Experiment['model'], { kind: 'random' }>;

/** BERT's config.json for a model trained from scratch (BERT-style init range 0.02, exact GELU, 512 positions). */
export function randomBertConfig(m: RandomModel, vocabSize: number, dropout: number): BertConfig {
  return parseBertConfig(
    JSON.stringify({
      architectures: ['BertModel'],
      model_type: 'bert',
      vocab_size: vocabSize,
      hidden_size: m.hidden,
      num_hidden_layers: m.layers,
      num_attention_heads: m.heads,
      intermediate_size: m.intermediate,
      max_position_embeddings: 512,
      type_vocab_size: 2,
      layer_norm_eps: 1e-12,
      hidden_act: 'gelu',
      hidden_dropout_prob: dropout,
      attention_probs_dropout_prob: dropout,
      initializer_range: 0.02,
      pad_token_id: 0,
    }),
    'random model config',
  );
}

/** MT-DNN sets both encoder dropouts from one flag (--bert_dropout_p, docs/methods.md §1.3); the experiment's encoderDropout is it. */
export function withEncoderDropout(config: BertConfig, dropout: number): BertConfig {
  return {
    ...config,
    hiddenDropoutProb: dropout,
    attentionProbsDropoutProb: dropout,
    raw: { ...config.raw, hidden_dropout_prob: dropout, attention_probs_dropout_prob: dropout },
  };
}

/** The encoder an experiment starts from: a loaded checkpoint, or random weights seeded by the experiment. */
export function buildEncoder(exp: Experiment, source: { checkpoint: Pick<BertCheckpoint, 'config' | 'tensors'> } | { vocabSize: number }): BertEncoder {
  if ('checkpoint' in source) {
    return BertEncoder.fromCheckpoint({ config: withEncoderDropout(source.checkpoint.config, exp.encoderDropout), tensors: source.checkpoint.tensors });
  }
  if (exp.model.kind !== 'random') throw new Error(`buildEncoder: model kind ${exp.model.kind} needs a loaded checkpoint`);
  return BertEncoder.random(randomBertConfig(exp.model, source.vocabSize, exp.encoderDropout), exp.seed);
}

/** The encoder plus one fresh head per experiment task (run order), specs from the GLUE registry unless given. */
export function buildMultiTaskModel(
  exp: Experiment,
  encoder: BertEncoder,
  opts: { specs?: Readonly<Record<string, TaskSpec>>; extension?: EncoderExtension | null } = {},
): MultiTaskModel {
  const tasks = runTaskOrder(exp).map((t) => ({ spec: opts.specs?.[t.name] ?? taskSpecFromRegistry(t.name, t.dropout), choice: t.head }));
  return MultiTaskModel.create(encoder, tasks, exp.seed, opts.extension ?? null);
}

/** The experiment's variant parts (EmBERT, Gated-BERT, PALs) for this encoder, fresh from the seed; null for MT-DNN. */
export function variantExtensionFor(exp: Experiment, encoder: BertEncoder): VariantExtension | null {
  return createVariantExtension({ ...experimentVariantOptions(exp), bert: encoder.config }, { from: 'random', seed: exp.seed });
}
