import { CheckpointError } from './checkpointError.ts';
import type { BertConfig, NamedTensor } from './types.ts';

/**
 * Canonical BERT tensor names are transformers' `BertModel` state-dict keys: no `bert.` prefix (that is how
 * task models such as BertForPreTraining nest the encoder) and LayerNorm `weight`/`bias` rather than the
 * TF-era `gamma`/`beta`. Linear weights stay in PyTorch's [out, in] layout.
 */

const BASE_PREFIX = 'bert.';

/** Strip `bert.` and rename LayerNorm gamma/beta, as transformers does when loading. */
export function canonicalTensorName(name: string): string {
  const bare = name.startsWith(BASE_PREFIX) ? name.slice(BASE_PREFIX.length) : name;
  return bare.replace(/(LayerNorm)\.gamma$/, '$1.weight').replace(/(LayerNorm)\.beta$/, '$1.bias');
}

/** Names that belong to BertModel itself (and so take the `bert.` prefix inside a task model). */
export const isBaseModelName = (canonical: string) => /^(embeddings|encoder|pooler)\./.test(canonical);

/** Every BertModel parameter (with pooler) and its shape, in state-dict order. */
export function expectedBertTensorShapes(config: BertConfig): Map<string, number[]> {
  const { vocabSize: V, hiddenSize: H, intermediateSize: I, maxPositionEmbeddings: P, typeVocabSize: T } = config;
  const shapes = new Map<string, number[]>();
  const linear = (name: string, out: number, inp: number) => {
    shapes.set(`${name}.weight`, [out, inp]);
    shapes.set(`${name}.bias`, [out]);
  };
  const layerNorm = (name: string) => {
    shapes.set(`${name}.weight`, [H]);
    shapes.set(`${name}.bias`, [H]);
  };
  shapes.set('embeddings.word_embeddings.weight', [V, H]);
  shapes.set('embeddings.position_embeddings.weight', [P, H]);
  shapes.set('embeddings.token_type_embeddings.weight', [T, H]);
  layerNorm('embeddings.LayerNorm');
  for (let l = 0; l < config.numHiddenLayers; l++) {
    const p = `encoder.layer.${l}`;
    linear(`${p}.attention.self.query`, H, H);
    linear(`${p}.attention.self.key`, H, H);
    linear(`${p}.attention.self.value`, H, H);
    linear(`${p}.attention.output.dense`, H, H);
    layerNorm(`${p}.attention.output.LayerNorm`);
    linear(`${p}.intermediate.dense`, I, H);
    linear(`${p}.output.dense`, H, I);
    layerNorm(`${p}.output.LayerNorm`);
  }
  linear('pooler.dense', H, H);
  return shapes;
}

export interface SortedTensors {
  /** BertModel parameters by canonical name. */
  params: Map<string, NamedTensor>;
  /**
   * Everything else, by canonical name: the MLM/NSP heads (`cls.*`, kept for masked-LM continuation), the
   * `embeddings.position_ids` buffer, task heads of fine-tuned checkpoints (`classifier.*`).
   */
  extra: Map<string, NamedTensor>;
}

/**
 * Rename to canonical names and split BertModel parameters from the rest. A name that would appear twice
 * (`bert.x` and `x`) or an encoder layer beyond `num_hidden_layers` is an error.
 */
export function sortCheckpointTensors(tensors: Iterable<NamedTensor>, config: BertConfig, file = 'model.safetensors'): SortedTensors {
  const expected = expectedBertTensorShapes(config);
  const params = new Map<string, NamedTensor>();
  const extra = new Map<string, NamedTensor>();
  const originalName = new Map<string, string>();
  for (const t of tensors) {
    const name = canonicalTensorName(t.name);
    const seen = originalName.get(name);
    if (seen !== undefined) throw new CheckpointError(file, `tensor ${name} appears twice (as ${seen} and ${t.name})`);
    originalName.set(name, t.name);
    const layer = /^encoder\.layer\.(\d+)\./.exec(name);
    if (layer && Number(layer[1]) >= config.numHiddenLayers) {
      throw new CheckpointError(file, `tensor ${name} is for layer ${layer[1]}, but config.json has num_hidden_layers ${config.numHiddenLayers}`);
    }
    (expected.has(name) ? params : extra).set(name, { ...t, name });
  }
  return { params, extra };
}

const MAX_LISTED = 5;

/** Check that every BertModel parameter is there with the shape config.json implies. */
export function validateBertTensors(params: ReadonlyMap<string, NamedTensor>, config: BertConfig, file = 'model.safetensors'): void {
  const problems: string[] = [];
  for (const [name, shape] of expectedBertTensorShapes(config)) {
    const t = params.get(name);
    if (!t) problems.push(`missing tensor ${name}`);
    else if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
      problems.push(`tensor ${name} has shape [${t.shape.join(',')}], expected [${shape.join(',')}] from config.json`);
    }
  }
  if (problems.length === 0) return;
  const listed = problems.slice(0, MAX_LISTED);
  if (problems.length > MAX_LISTED) listed.push(`… and ${problems.length - MAX_LISTED} more problems`);
  throw new CheckpointError(file, listed.join(`\n${file}: `));
}
