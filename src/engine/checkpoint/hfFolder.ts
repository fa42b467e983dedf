import { parseVocabText, requireTokenId } from '../tokenizer/vocab.ts';
import { parseBertConfig, serializeBertConfig } from './bertConfig.ts';
import { CheckpointError } from './checkpointError.ts';
import type { ModelSource, ProgressCallback } from './modelSource.ts';
import { checkFiniteTensors, parseSafetensors, serializeSafetensors } from './safetensors.ts';
import { canonicalTensorName, isBaseModelName, sortCheckpointTensors, validateBertTensors } from './tensorNames.ts';
import { parseDoLowerCase, serializeTokenizerConfig } from './tokenizerConfig.ts';
import type { BertCheckpoint, BertConfig, NamedTensor, SafetensorsDtype } from './types.ts';

/**
 * A Hugging Face BERT folder: `config.json`, `vocab.txt`, `model.safetensors`, optional `tokenizer_config.json`.
 */

export interface LoadBertCheckpointOptions {
  /** Download progress of `model.safetensors`. */
  onProgress?: ProgressCallback;
  /**
   * Integration point for the tokenizer's vocabulary checks (src/engine/tokenizer): called after config.json
   * and vocab.txt are read and before the weights are downloaded; throw to reject the folder.
   */
  validateVocab?: (vocabText: string, config: BertConfig, origin: string) => void;
}

/** Default vocab check: the specials BERT needs exist, and every token id fits the embedding table. */
export function checkVocabFitsConfig(vocabText: string, config: BertConfig, origin: string): void {
  const vocab = parseVocabText(vocabText, `${origin}/vocab.txt`);
  for (const special of ['[CLS]', '[SEP]', '[UNK]', '[PAD]']) requireTokenId(vocab, special);
  if (vocab.tokens.length > config.vocabSize) {
    throw new Error(`${origin}/vocab.txt: has ${vocab.tokens.length} tokens but config.json vocab_size is ${config.vocabSize}`);
  }
}

export async function loadBertCheckpoint(source: ModelSource, options: LoadBertCheckpointOptions = {}): Promise<BertCheckpoint> {
  const origin = source.describe();
  const [hasWeights, hasTokenizerConfig, configText, vocabText] = await Promise.all([
    source.has('model.safetensors'),
    source.has('tokenizer_config.json'),
    source.readText('config.json'),
    source.readText('vocab.txt'),
  ]);
  if (!hasWeights) throw await missingWeightsError(source, origin);
  const config = parseBertConfig(configText);
  const tokenizerConfig = hasTokenizerConfig ? await source.readText('tokenizer_config.json') : null;
  const modelName = `${origin} ${typeof config.raw._name_or_path === 'string' ? config.raw._name_or_path : ''}`;
  const doLowerCase = parseDoLowerCase(tokenizerConfig, modelName);
  (options.validateVocab ?? checkVocabFitsConfig)(vocabText, config, origin);

  const { tensors, metadata } = parseSafetensors(await source.readBytes('model.safetensors', options.onProgress));
  checkFiniteTensors(tensors, `${origin}/model.safetensors`);
  const { params, extra } = sortCheckpointTensors(tensors, config);
  validateBertTensors(params, config);
  return { config, vocabText, doLowerCase, tensors: params, extraTensors: extra, safetensorsMetadata: metadata, origin };
}

async function missingWeightsError(source: ModelSource, origin: string): Promise<CheckpointError> {
  const [bin, sharded] = await Promise.all([source.has('pytorch_model.bin'), source.has('model.safetensors.index.json')]);
  let why = `not found in ${origin}`;
  if (sharded) why += '; sharded checkpoints (model.safetensors.index.json) are not supported';
  else if (bin) {
    why +=
      '; the folder has pytorch_model.bin, a PyTorch pickle, which is not supported. Convert it in Python with ' +
      '`BertModel.from_pretrained(dir).save_pretrained(out, safe_serialization=True)` and load the result';
  }
  return new CheckpointError('model.safetensors', why);
}

type TensorCollection = Iterable<NamedTensor> | ReadonlyMap<string, NamedTensor>;
const tensorList = (c: TensorCollection | undefined): NamedTensor[] =>
  c === undefined ? [] : c instanceof Map ? [...c.values()] : [...(c as Iterable<NamedTensor>)];

/** What `saveBertCheckpoint` needs; a loaded `BertCheckpoint` qualifies. */
export interface SaveableBertCheckpoint {
  config: BertConfig;
  vocabText: string;
  doLowerCase: boolean;
  /** BertModel parameters, with or without the `bert.` prefix. Other tensors found here are saved as extras. */
  tensors: TensorCollection;
  /** Non-BertModel tensors to save too: the MLM head `cls.*`, task heads, `embeddings.position_ids`. */
  extraTensors?: TensorCollection;
  /** Extra files (e.g. `tokenizer.json`); a `tokenizer_config.json` here is merged with `do_lower_case`. */
  extra?: Readonly<Record<string, string | Uint8Array>>;
}

export interface SaveBertCheckpointOptions {
  /** Storage of float tensors (default F32); integer buffers keep their integer dtype. */
  dtype?: 'F32' | 'F16' | 'BF16';
  /**
   * Prefix of BertModel tensors. Default: none (what `BertModel.save_pretrained` writes) unless MLM head
   * tensors `cls.*` are saved, then `bert.` (the BertForPreTraining layout of the original Hub checkpoints):
   * transformers prepends the prefix to *every* key of an unprefixed checkpoint when loading a task model,
   * so unprefixed `cls.*` weights would be ignored by BertForMaskedLM. BertModel loads both layouts.
   */
  basePrefix?: '' | 'bert.';
  /** Added to the safetensors `__metadata__` (which always has format=pt: transformers refuses files without it). */
  metadata?: Readonly<Record<string, string>>;
}

const WRITTEN = ['config.json', 'vocab.txt', 'model.safetensors'];
const FLOAT_DTYPES: readonly SafetensorsDtype[] = ['F32', 'F16', 'BF16', 'F64'];

/** The files of a HF BERT folder that `BertModel.from_pretrained` (and refbert) load. */
export function saveBertCheckpoint(ckpt: SaveableBertCheckpoint, options: SaveBertCheckpointOptions = {}): Map<string, Uint8Array<ArrayBuffer>> {
  const label = 'saveBertCheckpoint';
  const { params, extra } = sortCheckpointTensors(tensorList(ckpt.tensors), ckpt.config, label);
  validateBertTensors(params, ckpt.config, label);
  for (const t of tensorList(ckpt.extraTensors)) {
    const name = canonicalTensorName(t.name);
    if (params.has(name) || extra.has(name)) throw new CheckpointError(label, `tensor ${name} is given twice`);
    extra.set(name, { ...t, name });
  }
  const prefix = options.basePrefix ?? ([...extra.keys()].some((n) => n.startsWith('cls.')) ? 'bert.' : '');
  const floatDtype = options.dtype ?? 'F32';
  const tensors: NamedTensor[] = [];
  const dtypes: Record<string, SafetensorsDtype> = {};
  for (const t of [...params.values(), ...extra.values()]) {
    const name = isBaseModelName(t.name) ? prefix + t.name : t.name;
    tensors.push({ ...t, name });
    dtypes[name] = FLOAT_DTYPES.includes(t.dtype) ? floatDtype : t.dtype;
  }

  const text = new TextEncoder();
  const files = new Map<string, Uint8Array<ArrayBuffer>>();
  files.set('config.json', text.encode(serializeBertConfig(ckpt.config)));
  files.set('vocab.txt', text.encode(ckpt.vocabText));
  const extraFiles = ckpt.extra ?? {};
  const givenTokenizerConfig = extraFiles['tokenizer_config.json'];
  const existing = givenTokenizerConfig instanceof Uint8Array ? new TextDecoder().decode(givenTokenizerConfig) : givenTokenizerConfig;
  files.set('tokenizer_config.json', text.encode(serializeTokenizerConfig(ckpt.doLowerCase, ckpt.config.maxPositionEmbeddings, existing)));
  files.set('model.safetensors', serializeSafetensors(tensors, dtypes, { format: 'pt', ...options.metadata }));
  for (const [name, content] of Object.entries(extraFiles)) {
    if (WRITTEN.includes(name)) throw new CheckpointError(label, `extra file ${name} would overwrite the one it writes`);
    if (name !== 'tokenizer_config.json') files.set(name, typeof content === 'string' ? text.encode(content) : new Uint8Array(content));
  }
  return files;
}
