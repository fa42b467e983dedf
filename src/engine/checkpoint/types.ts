/** The BERT hyper-parameters Taskscope reads from a Hugging Face `config.json`. */
export interface BertConfig {
  vocabSize: number;
  hiddenSize: number;
  numHiddenLayers: number;
  numAttentionHeads: number;
  intermediateSize: number;
  maxPositionEmbeddings: number;
  typeVocabSize: number;
  layerNormEps: number;
  /** 'gelu' (erf), 'gelu_new'/'gelu_pytorch_tanh' (tanh approximation), 'relu'. */
  hiddenAct: 'gelu' | 'gelu_new' | 'relu';
  hiddenDropoutProb: number;
  attentionProbsDropoutProb: number;
  initializerRange: number;
  padTokenId: number;
  /** Every field of the original file, kept so a save writes back what was read. */
  raw: Record<string, unknown>;
}

export type SafetensorsDtype = 'F32' | 'F16' | 'BF16' | 'F64' | 'I64' | 'I32';

/** One tensor of a checkpoint, always widened to float32 in memory. */
export interface NamedTensor {
  name: string;
  shape: number[];
  /** The dtype it was stored with (kept so an export can write it back the same way). */
  dtype: SafetensorsDtype;
  data: Float32Array;
}

/** A loaded HF BERT folder: config, vocab text and tensors keyed by canonical name (no `bert.` prefix). */
export interface BertCheckpoint {
  config: BertConfig;
  vocabText: string;
  /** `tokenizer_config.json` `do_lower_case` (default true for uncased vocabularies). */
  doLowerCase: boolean;
  tensors: Map<string, NamedTensor>;
  /** Where it came from, for error messages and the UI. */
  origin: string;
  /**
   * Tensors that are not BertModel parameters, by canonical name: the MLM/NSP heads `cls.*` (for masked-LM
   * continuation), the `embeddings.position_ids` buffer, task heads of fine-tuned checkpoints.
   */
  extraTensors?: Map<string, NamedTensor>;
  /** The safetensors `__metadata__` of the weights file, if any. */
  safetensorsMetadata?: Record<string, string> | null;
}
