import { normalizeMaskImportance } from './importanceNormalize.ts';
import type { HeadMatrix } from './types.ts';

/**
 * Mask importance accumulated while training batches pass: each step hands in ∂(batch loss)/∂m [L, A]
 * (e.g. from `batchMeanLossMaskGrad`, or from the training step's own backward with a ones head mask),
 * and the running importance is Σ_batches |g|, normalised like the per-example measure.
 */
export class LiveMaskImportance {
  private sum: HeadMatrix | null = null;
  private n = 0;

  addBatch(grad: HeadMatrix): void {
    if (grad.length === 0) throw new Error('LiveMaskImportance.addBatch: empty gradient');
    if (this.sum && (grad.length !== this.sum.length || grad.some((r, l) => r.length !== this.sum![l].length))) {
      throw new Error(
        `LiveMaskImportance.addBatch: gradient has shape [${grad.length}, ${grad[0].length}], expected [${this.sum.length}, ${this.sum[0].length}]`,
      );
    }
    grad.forEach((row, l) =>
      row.forEach((v, h) => {
        if (!Number.isFinite(v)) throw new Error(`LiveMaskImportance.addBatch: gradient [${l}, ${h}] is ${v}`);
      }),
    );
    if (!this.sum) this.sum = grad.map((row) => row.map(() => 0));
    grad.forEach((row, l) =>
      row.forEach((v, h) => {
        this.sum![l][h] += Math.abs(v);
      }),
    );
    this.n++;
  }

  get batches(): number {
    return this.n;
  }

  current(): { raw: HeadMatrix; normalized: HeadMatrix; batches: number } {
    if (!this.sum) throw new Error('LiveMaskImportance.current: no batch added yet');
    const raw = this.sum.map((r) => r.slice());
    return { raw, normalized: normalizeMaskImportance(raw), batches: this.n };
  }

  reset(): void {
    this.sum = null;
    this.n = 0;
  }
}
