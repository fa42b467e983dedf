import type { NamedTensor } from '../../checkpoint/types.ts';
import type { EncoderExtension } from '../encoderExtension.ts';
import type { VariantName } from './variantConfig.ts';

/** An encoder extension that can be checkpointed: `snapshot()` + the constructor's `{ from: 'tensors' }` round-trip exactly. */
export interface VariantExtension extends EncoderExtension {
  readonly variant: Exclude<VariantName, 'mtdnn'>;
  readonly numTasks: number;
  /** Every tensor under its stable name (PyTorch layout for dense weights). */
  snapshot(): NamedTensor[];
}
