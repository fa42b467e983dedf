/** Shared argument checks: metric functions take parallel arrays of predictions and labels. */
export function checkPair(metric: string, preds: ArrayLike<number>, labels: ArrayLike<number>): void {
  if (preds.length !== labels.length) {
    throw new Error(`${metric}: preds has ${preds.length} values but labels has ${labels.length}`);
  }
  if (preds.length === 0) throw new Error(`${metric}: no values (preds and labels are empty)`);
  for (let i = 0; i < preds.length; i++) {
    if (!Number.isFinite(preds[i])) throw new Error(`${metric}: preds[${i}] is ${preds[i]}, not a finite number`);
    if (!Number.isFinite(labels[i])) throw new Error(`${metric}: labels[${i}] is ${labels[i]}, not a finite number`);
  }
}
