import * as v from 'valibot';
import { CheckpointError, errorText } from './checkpointError.ts';
import type { BertConfig } from './types.ts';

/**
 * `config.json` of a Hugging Face BERT checkpoint.
 *
 * The architecture fields are required even though transformers' BertConfig has defaults for them: a
 * config.json without `hidden_size` is broken, and silently assuming BERT-base's 768 would only turn it into
 * a confusing tensor-shape error. `type_vocab_size` is the exception: it defaults to 2 as in BertConfig (and
 * refbert), the value every BERT release uses; the token-type embedding's shape is checked against it anyway.
 * The rest default as in BertConfig.
 */

const FILE = 'config.json';

const HIDDEN_ACTS = { gelu: 'gelu', gelu_new: 'gelu_new', gelu_pytorch_tanh: 'gelu_new', relu: 'relu' } as const;

const positiveInt = (field: string) =>
  v.pipe(
    v.number((i) => `field "${field}" must be a positive integer, got ${i.received}`),
    v.integer((i) => `field "${field}" must be a positive integer, got ${i.received}`),
    v.minValue(1, (i) => `field "${field}" must be a positive integer, got ${i.received}`),
  );

const nonNegativeInt = (field: string) =>
  v.pipe(
    v.number((i) => `field "${field}" must be a non-negative integer, got ${i.received}`),
    v.integer((i) => `field "${field}" must be a non-negative integer, got ${i.received}`),
    v.minValue(0, (i) => `field "${field}" must be a non-negative integer, got ${i.received}`),
  );

const positiveNumber = (field: string) =>
  v.pipe(
    v.number((i) => `field "${field}" must be a positive number, got ${i.received}`),
    v.finite((i) => `field "${field}" must be a positive number, got ${i.received}`),
    v.gtValue(0, (i) => `field "${field}" must be a positive number, got ${i.received}`),
  );

const probability = (field: string) =>
  v.pipe(
    v.number((i) => `field "${field}" must be a number in [0, 1), got ${i.received}`),
    v.minValue(0, (i) => `field "${field}" must be a number in [0, 1), got ${i.received}`),
    v.ltValue(1, (i) => `field "${field}" must be a number in [0, 1), got ${i.received}`),
  );

const hiddenAct = v.picklist(
  Object.keys(HIDDEN_ACTS) as (keyof typeof HIDDEN_ACTS)[],
  (i) =>
    `field "hidden_act" must be one of ${Object.keys(HIDDEN_ACTS)
      .map((k) => `"${k}"`)
      .join(', ')}, got ${i.received}`,
);

const ConfigSchema = v.pipe(
  v.looseObject(
    {
      vocab_size: positiveInt('vocab_size'),
      hidden_size: positiveInt('hidden_size'),
      num_hidden_layers: positiveInt('num_hidden_layers'),
      num_attention_heads: positiveInt('num_attention_heads'),
      intermediate_size: positiveInt('intermediate_size'),
      max_position_embeddings: positiveInt('max_position_embeddings'),
      type_vocab_size: v.optional(positiveInt('type_vocab_size'), 2),
      layer_norm_eps: v.optional(positiveNumber('layer_norm_eps'), 1e-12),
      hidden_act: v.optional(hiddenAct, 'gelu'),
      hidden_dropout_prob: v.optional(probability('hidden_dropout_prob'), 0.1),
      attention_probs_dropout_prob: v.optional(probability('attention_probs_dropout_prob'), 0.1),
      initializer_range: v.optional(positiveNumber('initializer_range'), 0.02),
      pad_token_id: v.optional(nonNegativeInt('pad_token_id'), 0),
      model_type: v.optional(v.literal('bert', (i) => `model_type ${i.received} is not supported (only "bert")`)),
      position_embedding_type: v.optional(v.literal('absolute', (i) => `field "position_embedding_type" is ${i.received}; only "absolute" is supported`)),
    },
    (i) => `missing required field "${String(i.path?.[i.path.length - 1].key)}"`,
  ),
  v.check(
    (c) => c.hidden_size % c.num_attention_heads === 0,
    (i) => {
      const c = i.input as { hidden_size: number; num_attention_heads: number };
      return `hidden_size ${c.hidden_size} is not divisible by num_attention_heads ${c.num_attention_heads}`;
    },
  ),
  v.check(
    (c) => c.pad_token_id < c.vocab_size,
    (i) => {
      const c = i.input as { pad_token_id: number; vocab_size: number };
      return `pad_token_id ${c.pad_token_id} is not below vocab_size ${c.vocab_size}`;
    },
  ),
);

/** Parse `config.json` text. Every problem is reported, one `config.json: …` line each. */
export function parseBertConfig(text: string, file = FILE): BertConfig {
  let raw: unknown;
  try {
    // A leading BOM (Windows editors write one) is not JSON but carries no meaning: drop it.
    raw = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  } catch (e) {
    throw new CheckpointError(file, `not valid JSON (${errorText(e)})`);
  }
  // valibot's object schemas accept arrays (typeof [] === 'object'), which would read as "missing field" errors.
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new CheckpointError(file, `must hold a JSON object, got ${Array.isArray(raw) ? 'an array' : JSON.stringify(raw)}`);
  }
  const result = v.safeParse(ConfigSchema, raw);
  if (!result.success) {
    throw new CheckpointError(file, result.issues.map((i) => i.message).join(`\n${file}: `));
  }
  const c = result.output;
  return {
    vocabSize: c.vocab_size,
    hiddenSize: c.hidden_size,
    numHiddenLayers: c.num_hidden_layers,
    numAttentionHeads: c.num_attention_heads,
    intermediateSize: c.intermediate_size,
    maxPositionEmbeddings: c.max_position_embeddings,
    typeVocabSize: c.type_vocab_size,
    layerNormEps: c.layer_norm_eps,
    hiddenAct: HIDDEN_ACTS[c.hidden_act],
    hiddenDropoutProb: c.hidden_dropout_prob,
    attentionProbsDropoutProb: c.attention_probs_dropout_prob,
    initializerRange: c.initializer_range,
    padTokenId: c.pad_token_id,
    raw: { ...(raw as Record<string, unknown>) },
  };
}

/**
 * HF snake_case `config.json` text. Fields of `raw` that Taskscope does not model are written back unchanged;
 * `hidden_act` keeps its original spelling (`gelu_pytorch_tanh`) when it still means the same activation.
 */
export function serializeBertConfig(config: BertConfig): string {
  const raw = config.raw ?? {};
  const rawAct = raw.hidden_act;
  const act = typeof rawAct === 'string' && (HIDDEN_ACTS as Record<string, string>)[rawAct] === config.hiddenAct ? rawAct : config.hiddenAct;
  const out: Record<string, unknown> = {
    architectures: ['BertModel'],
    ...raw,
    model_type: 'bert',
    vocab_size: config.vocabSize,
    hidden_size: config.hiddenSize,
    num_hidden_layers: config.numHiddenLayers,
    num_attention_heads: config.numAttentionHeads,
    intermediate_size: config.intermediateSize,
    max_position_embeddings: config.maxPositionEmbeddings,
    type_vocab_size: config.typeVocabSize,
    layer_norm_eps: config.layerNormEps,
    hidden_act: act,
    hidden_dropout_prob: config.hiddenDropoutProb,
    attention_probs_dropout_prob: config.attentionProbsDropoutProb,
    initializer_range: config.initializerRange,
    pad_token_id: config.padTokenId,
  };
  return `${JSON.stringify(out, null, 2)}\n`;
}
