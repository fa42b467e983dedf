import type * as tf from '@tensorflow/tfjs';

/** Per-call facts a task-specific encoder part needs. */
export interface ExtensionContext {
  taskId: number;
  training: boolean;
  batchSize: number;
  seqLen: number;
  nextSeed: () => number | undefined;
  /** The encoder's additive attention-mask bias [B, 1, 1, T] (0 real key, −10000 padding); PALs attend with it. */
  attentionBias?: tf.Tensor;
}

/**
 * Task-specific parts that plug into the shared encoder rather than copying it (EmBERT task embeddings,
 * Gated-BERT adapters, PALs). Each hook returns tensors to add; absent hooks cost nothing.
 */
export interface EncoderExtension {
  /** Terms added to layer l's Q, K, V projections, each [B, T, H] or broadcastable. */
  projectionDeltas?(layer: number, hIn: tf.Tensor, ctx: ExtensionContext): { q?: tf.Tensor; k?: tf.Tensor; v?: tf.Tensor } | null;
  /** A term added inside layer l's final residual, [B, T, H] (PALs run in parallel with the layer). */
  layerDelta?(layer: number, hIn: tf.Tensor, ctx: ExtensionContext): tf.Tensor | null;
  /**
   * When set, every input is padded to exactly this many tokens ([PAD], attention mask 0) before the layers and
   * the outputs are cut back: an extension that reads the whole sequence at once (Gated-BERT's gate over the
   * flattened [B, T·H] states) needs the fixed length the seed's data loader pads to.
   */
  readonly fixedSeqLen?: number;
  namedVariables(): Map<string, tf.Variable>;
  dispose(): void;
}
