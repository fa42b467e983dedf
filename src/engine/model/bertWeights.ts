import * as tf from '@tensorflow/tfjs';
import type { BertConfig, NamedTensor } from '../checkpoint/types.ts';

/** A dense layer's parameters. `kernel` is [in, out]: HF stores [out, in], we transpose once at load so
 * the hot path is a plain matMul. */
export interface DenseParams {
  kernel: tf.Variable;
  bias: tf.Variable;
}
export interface NormParams {
  gamma: tf.Variable;
  beta: tf.Variable;
}

export interface LayerParams {
  query: DenseParams;
  key: DenseParams;
  value: DenseParams;
  attentionOutput: DenseParams;
  attentionNorm: NormParams;
  intermediate: DenseParams;
  output: DenseParams;
  outputNorm: NormParams;
}

export interface BertParams {
  wordEmbeddings: tf.Variable;
  positionEmbeddings: tf.Variable;
  tokenTypeEmbeddings: tf.Variable;
  embeddingNorm: NormParams;
  layers: LayerParams[];
  pooler: DenseParams;
}

/** One trainable tensor with its Hugging Face name; `transposed` says the variable is HF's [out, in]ᵀ. */
export interface HfBinding {
  hfName: string;
  variable: tf.Variable;
  transposed: boolean;
}

let instanceCounter = 0;

/** Creates the encoder's variables from canonical HF tensors (names without `bert.`), or at random. */
export function createBertParams(config: BertConfig, source: Map<string, NamedTensor> | { seed: number }): { params: BertParams; bindings: HfBinding[] } {
  const prefix = `bert${instanceCounter++}`;
  const bindings: HfBinding[] = [];
  const H = config.hiddenSize;
  const I = config.intermediateSize;
  const random = !(source instanceof Map);
  let seed = random ? (source as { seed: number }).seed : 0;

  const make = (hfName: string, hfShape: number[], init: 'normal' | 'zeros' | 'ones', transposed = false): tf.Variable => {
    let value: tf.Tensor;
    if (!random) {
      const t = (source as Map<string, NamedTensor>).get(hfName);
      if (!t) throw new Error(`checkpoint: missing tensor ${hfName}`);
      if (t.shape.join(',') !== hfShape.join(',')) {
        throw new Error(`checkpoint: tensor ${hfName} has shape [${t.shape}], expected [${hfShape}] from config.json`);
      }
      value = tf.tensor(t.data, t.shape, 'float32');
    } else if (init === 'normal') {
      value = tf.truncatedNormal(hfShape, 0, config.initializerRange, 'float32', seed++);
    } else {
      value = init === 'ones' ? tf.ones(hfShape) : tf.zeros(hfShape);
    }
    if (transposed) {
      const tr = tf.transpose(value);
      value.dispose();
      value = tr;
    }
    const v = tf.variable(value, true, `${prefix}/${hfName}`);
    value.dispose(); // tf.variable copies; the initialiser would otherwise leak (docs/architecture.md, tfjs trap 5)
    bindings.push({ hfName, variable: v, transposed });
    return v;
  };
  const denseP = (name: string, inDim: number, outDim: number): DenseParams => ({
    kernel: make(`${name}.weight`, [outDim, inDim], 'normal', true),
    bias: make(`${name}.bias`, [outDim], 'zeros'),
  });
  const normP = (name: string): NormParams => ({
    gamma: make(`${name}.weight`, [H], 'ones'),
    beta: make(`${name}.bias`, [H], 'zeros'),
  });

  const wordEmbeddings = make('embeddings.word_embeddings.weight', [config.vocabSize, H], 'normal');
  const positionEmbeddings = make('embeddings.position_embeddings.weight', [config.maxPositionEmbeddings, H], 'normal');
  const tokenTypeEmbeddings = make('embeddings.token_type_embeddings.weight', [config.typeVocabSize, H], 'normal');
  const embeddingNorm = normP('embeddings.LayerNorm');
  const layers: LayerParams[] = [];
  for (let l = 0; l < config.numHiddenLayers; l++) {
    const p = `encoder.layer.${l}`;
    layers.push({
      query: denseP(`${p}.attention.self.query`, H, H),
      key: denseP(`${p}.attention.self.key`, H, H),
      value: denseP(`${p}.attention.self.value`, H, H),
      attentionOutput: denseP(`${p}.attention.output.dense`, H, H),
      attentionNorm: normP(`${p}.attention.output.LayerNorm`),
      intermediate: denseP(`${p}.intermediate.dense`, H, I),
      output: denseP(`${p}.output.dense`, I, H),
      outputNorm: normP(`${p}.output.LayerNorm`),
    });
  }
  const pooler = denseP('pooler.dense', H, H);
  const params: BertParams = { wordEmbeddings, positionEmbeddings, tokenTypeEmbeddings, embeddingNorm, layers, pooler };
  return { params, bindings };
}

/** Reads the variables back as HF-layout tensors (for saving and export). */
export function bindingsToNamedTensors(bindings: HfBinding[]): NamedTensor[] {
  return bindings.map(({ hfName, variable, transposed }) => {
    const t = transposed ? tf.tidy(() => tf.transpose(variable)) : variable;
    const out: NamedTensor = { name: hfName, shape: t.shape.slice(), dtype: 'F32', data: t.dataSync() as Float32Array };
    if (transposed) t.dispose();
    return { ...out, data: new Float32Array(out.data) };
  });
}
