import type { DecayFilter } from './types.ts';

/** yml-era MT-DNN no_decay = ['bias', 'gamma', 'beta', 'LayerNorm.bias', 'LayerNorm.weight'], matched as substrings. */
const NO_DECAY_SUBSTRINGS = ['bias', 'LayerNorm', 'gamma', 'beta'];

export function defaultDecays(paramName: string): boolean {
  return !NO_DECAY_SUBSTRINGS.some((s) => paramName.includes(s));
}

/** Whether the parameter is in the weight-decay group. */
export function decays(filter: DecayFilter, paramName: string): boolean {
  if (filter === 'all') return true;
  if (filter === 'no-bias-norm') return defaultDecays(paramName);
  if (typeof filter === 'function') return filter(paramName);
  throw new Error(`optimizer: unknown decayFilter ${JSON.stringify(filter)} (expected 'no-bias-norm', 'all' or a function)`);
}
