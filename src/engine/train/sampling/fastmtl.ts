/** FastMTL's per-task weights from batch counts (`custom_dataset.py::MergeDataset`, docs/methods.md §4.1, §7.14). */

function checkCounts(batchCounts: readonly number[], fn: string): void {
  if (batchCounts.length === 0) throw new Error(`${fn}: no batch counts given`);
  batchCounts.forEach((n, i) => {
    if (!Number.isInteger(n) || n <= 0) throw new Error(`${fn}: batchCounts[${i}] must be an integer > 0, got ${n}`);
  });
}

/** BCE pos_weight of the task discriminator: (N_all − N_j) / N_j with N = batches per task. */
export function posWeightFromBatchCounts(batchCounts: readonly number[]): number[] {
  checkCounts(batchCounts, 'posWeightFromBatchCounts');
  const total = batchCounts.reduce((a, b) => a + b, 0);
  return batchCounts.map((n) => (total - n) / n);
}

/** The optional `--weight_loss` multiplier: ln(e · n_max / n_t) = 1 + ln(n_max / n_t), in batches. */
export function lossWeightsFromBatchCounts(batchCounts: readonly number[]): number[] {
  checkCounts(batchCounts, 'lossWeightsFromBatchCounts');
  const max = Math.max(...batchCounts);
  return batchCounts.map((n) => 1 + Math.log(max / n));
}
