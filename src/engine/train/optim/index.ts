import { Adam, AdamW } from './adam.ts';
import { Adamax } from './adamax.ts';
import { BertAdam } from './bertAdam.ts';
import { RAdam } from './radam.ts';
import type { SlotOptimizer } from './slotOptimizer.ts';
import type { CommonOptimizerOptions, OptimizerKind, TrainableParam } from './types.ts';

export { Adam, AdamW, Adamax, BertAdam, RAdam };
export { SlotOptimizer } from './slotOptimizer.ts';
export { defaultDecays } from './weightDecay.ts';
export type * from './types.ts';

export const OPTIMIZER_KINDS: readonly OptimizerKind[] = ['adamax', 'adam', 'adamw', 'bertadam', 'radam'];

/** Builds an optimiser by name. 'adam' is the L2-free torch Adam and refuses a weightDecay (use 'adamw'). */
export function createOptimizer(kind: OptimizerKind, params: readonly TrainableParam[], opts: CommonOptimizerOptions = {}): SlotOptimizer {
  switch (kind) {
    case 'adamax':
      return new Adamax(params, opts);
    case 'adam': {
      if (opts.weightDecay) throw new Error(`optimizer 'adam' has no weight decay (got weightDecay ${opts.weightDecay}); use 'adamw'`);
      const { weightDecay: _wd, decayFilter: _df, ...rest } = opts;
      return new Adam(params, rest);
    }
    case 'adamw':
      return new AdamW(params, opts);
    case 'bertadam':
      return new BertAdam(params, opts);
    case 'radam':
      return new RAdam(params, opts);
    default:
      throw new Error(`unknown optimizer '${kind as string}' (expected one of ${OPTIMIZER_KINDS.join(', ')})`);
  }
}
