/** Task-sampling probabilities of EmBERT / PALs (`run_multi_task.py`, docs/methods.md §5.2) and common variants. */

/**
 * EmBERT/PALs' hard-coded training-set sizes (≈ 0.781 × the real GLUE sizes), in their task order
 * cola, mrpc, mnli, rte, sts, sst, qqp, qnli.
 */
export const EMBERT_TASK_ORDER = ['CoLA', 'MRPC', 'MNLI', 'RTE', 'STS-B', 'SST-2', 'QQP', 'QNLI'] as const;
export const EMBERT_TASK_SIZES: readonly number[] = [6680, 2865, 306798, 1945, 4491, 52616, 284257, 84715];

function checkSizes(sizes: readonly number[], fn: string): void {
  if (sizes.length === 0) throw new Error(`${fn}: no task sizes given`);
  sizes.forEach((n, i) => {
    if (!(n > 0) || !Number.isFinite(n)) throw new Error(`${fn}: sizes[${i}] must be a finite number > 0, got ${n}`);
  });
}

/** P(t) = N_t^α / Σ_j N_j^α. α = 1 proportional, 0.5 sqrt, 0 uniform. */
export function powerProbs(sizes: readonly number[], alpha: number): number[] {
  checkSizes(sizes, 'powerProbs');
  if (!Number.isFinite(alpha)) throw new Error(`powerProbs: alpha must be finite, got ${alpha}`);
  const w = sizes.map((n) => n ** alpha);
  const total = w.reduce((a, b) => a + b, 0);
  return w.map((x) => x / total);
}

/** The annealing exponent at epoch e (0-based) of E: α_e = 1 − 0.8·e/(E − 1); a single epoch stays at 1. */
export function annealAlpha(epoch: number, totalEpochs: number): number {
  if (!Number.isInteger(totalEpochs) || totalEpochs < 1) throw new Error(`annealAlpha: totalEpochs must be an integer >= 1, got ${totalEpochs}`);
  if (!Number.isInteger(epoch) || epoch < 0 || epoch >= totalEpochs) {
    throw new Error(`annealAlpha: epoch must be an integer in [0, ${totalEpochs}), got ${epoch}`);
  }
  return totalEpochs === 1 ? 1 : 1 - (0.8 * epoch) / (totalEpochs - 1);
}

export function annealProbs(sizes: readonly number[], epoch: number, totalEpochs: number): number[] {
  return powerProbs(sizes, annealAlpha(epoch, totalEpochs));
}

/** Temperature sampling: P(t) ∝ N_t^(1/T). T = 1 proportional, T → ∞ uniform. */
export function temperatureProbs(sizes: readonly number[], temperature: number): number[] {
  if (!(temperature > 0) || !Number.isFinite(temperature)) throw new Error(`temperatureProbs: temperature must be finite and > 0, got ${temperature}`);
  return powerProbs(sizes, 1 / temperature);
}

export type TaskSamplingKind = 'anneal' | 'prop' | 'sqrt' | 'uniform';

/** The probabilities EmBERT's `--sample` option uses at the start of an epoch. */
export function taskProbs(kind: TaskSamplingKind, sizes: readonly number[], epoch: number, totalEpochs: number): number[] {
  switch (kind) {
    case 'anneal':
      return annealProbs(sizes, epoch, totalEpochs);
    case 'prop':
      return powerProbs(sizes, 1);
    case 'sqrt':
      return powerProbs(sizes, 0.5);
    case 'uniform':
      return powerProbs(sizes, 0);
    default:
      throw new Error(`taskProbs: unknown sampling kind '${kind as string}' (expected anneal, prop, sqrt or uniform)`);
  }
}
