import type { BertConfig } from '../../checkpoint/types.ts';
import type { VariantName, VariantOptions } from './variantConfig.ts';

/**
 * Parameter counts of each variant from its config alone (nothing is allocated, so BERT-base/large can be
 * priced in a browser). Task heads are left out: they are the same for every variant and depend on each
 * task's label count.
 */

type BertShape = Pick<BertConfig, 'vocabSize' | 'hiddenSize' | 'numHiddenLayers' | 'intermediateSize' | 'maxPositionEmbeddings' | 'typeVocabSize'>;

export interface VariantParameterCounts {
  variant: VariantName;
  numTasks: number;
  /** The plain BERT encoder (embeddings, layers, pooler), shared by every task in every variant. */
  encoder: number;
  /** Variant parameters that belong to no single task (Gated-BERT's gates). */
  extensionShared: number;
  /** Variant parameters each task owns (EmBERT's table rows count for their task). */
  perTask: number;
  /** encoder + extensionShared + numTasks · perTask. */
  total: number;
  /** perTask's parts, by name (per task). */
  perTaskParts: Record<string, number>;
}

const linear = (inDim: number, outDim: number) => inDim * outDim + outDim;

export function bertParameterCount(c: BertShape): number {
  const H = c.hiddenSize;
  const I = c.intermediateSize;
  const embeddings = (c.vocabSize + c.maxPositionEmbeddings + c.typeVocabSize) * H + 2 * H;
  const layer = 4 * linear(H, H) + 2 * H + linear(H, I) + linear(I, H) + 2 * H;
  return embeddings + c.numHiddenLayers * layer + linear(H, H);
}

export function variantParameterCounts(bert: BertShape, o: VariantOptions): VariantParameterCounts {
  const H = bert.hiddenSize;
  const L = bert.numHiddenLayers;
  const T = o.numTasks;
  const r = o.hiddenSizeAug;
  let extensionShared = 0;
  let perTaskParts: Record<string, number> = {};
  switch (o.variant) {
    case 'mtdnn':
      break;
    case 'embert':
      perTaskParts = { taskEmbeddings: 3 * L * H };
      break;
    case 'gated':
      perTaskParts = {
        taskEmbeddings: 3 * (L - 1) * H,
        queryAdapter: linear(H, r) + linear(r, H),
        keyAdapter: linear(H, r) + linear(r, H),
        valueAdapter: linear(H, H),
        taskScales: 5 * (o.gatedTaskScale === 'hidden' ? H : 1),
      };
      extensionShared = 2 * linear(o.gatedSeqLen * H, T);
      break;
    case 'pals': {
      const projections = linear(H, r) + linear(r, H);
      perTaskParts = {
        projections: o.palSharedProjections ? projections : L * projections,
        attention: L * 3 * linear(r, r),
      };
      break;
    }
  }
  const perTask = Object.values(perTaskParts).reduce((a, b) => a + b, 0);
  const encoder = bertParameterCount(bert);
  return { variant: o.variant, numTasks: T, encoder, extensionShared, perTask, total: encoder + extensionShared + T * perTask, perTaskParts };
}
