/** A BERT classification model's shape, as the training benchmark times it. */
export interface TrainShape {
  layers: number;
  hidden: number;
  heads: number;
  intermediate: number;
  batch: number;
  seq: number;
  /** Classes of the one task head. */
  classes: number;
}

/**
 * Matmul FLOPs of one forward pass, counting a multiply-add as 2. Embeddings are lookups (no matmul) and are
 * left out, as are LayerNorm, softmax, GELU, dropout and the optimiser: the usual convention for "model FLOPs".
 * Per layer: the Q, K, V and output projections 4·(2·B·T·H²), the feed-forward pair 2·(2·B·T·H·I), and the
 * attention scores QKᵀ plus probs·V, 2·(2·B·T²·H) summed over heads. Then the pooler 2·B·H² (one [CLS] row per
 * example) and the classifier 2·B·H·C.
 */
export function forwardFlops(s: TrainShape): number {
  const { layers: L, hidden: H, intermediate: I, batch: B, seq: T, classes: C } = s;
  const perLayer = 2 * B * T * (4 * H * H + 2 * H * I) + 2 * 2 * B * T * T * H;
  return L * perLayer + 2 * B * H * H + 2 * B * H * C;
}

/**
 * FLOPs of one training step: forward + backward ≈ 3 × forward, because the backward pass of every matmul
 * needs two matmuls of the same size (gradient w.r.t. the input and w.r.t. the weight). This is the usual
 * approximation (Kaplan et al. 2020, "Scaling Laws for Neural Language Models", §2.1: C ≈ 6N per token
 * = 3 × the forward 2N).
 */
export function trainStepFlops(s: TrainShape): number {
  return 3 * forwardFlops(s);
}
