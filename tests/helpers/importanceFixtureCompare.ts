import { maxRelDiff } from './compare.ts';

/*
 * How the engine's head-importance numbers are compared with the float64 reference (refbert), on every backend:
 * all as maxRelDiff(ours, ref, floor) = max |Δ| / max(|ref|, floor).
 * - losses: 1e-5 relative, floor 1e-2 · max|ref|. A squared error of a near-perfect prediction is a difference of
 *   O(1) numbers, squared: float32 gets `pred` to ~1e-7 of its size, so the loss's relative error grows without
 *   bound as the loss goes to 0 (random-tiny's regression has one loss of 1.6e-4).
 * - gradients and raw importances: 1e-3 relative, floor 1e-3 · max|ref| of the tensor. A gradient that cancels to
 *   near 0 still carries the absolute rounding error of the large terms it sums, which scales with the tensor's size.
 * - min-max-normalised matrices: 1e-3 relative with floor 1 = the matrix's max (min-max makes it exactly 1), i.e.
 *   1e-3 absolute on the [0, 1] scale. Min-max turns relative errors of its input into ABSOLUTE errors of every
 *   output, amplified by κ = max/(max − min) of the per-layer-normalised matrix: κ reaches 56 for a
 *   bert-tiny-arch-random instance (two heads per layer, nearly equal), so 1e-5 relative in the raw gradients becomes
 *   ~6e-4 on every entry, including the one min-max maps to exactly 0. The raw inputs are checked at 1e-3 relative;
 *   the 0 and the 1 must also land on the same heads as in the reference.
 */
export const LOSS_TOL = 1e-5;
export const TOL = 1e-3;

export const LOSS_FIELDS = ['per_example_loss', 'loss_mean'] as const;
export const GRAD_FIELDS = ['per_example_mask_grads', 'importance_raw', 'batch_mean_loss_mask_grad', 'gradts_raw_per_example'] as const;
export const NORMALIZED_FIELDS = ['importance_normalized', 'gradts_instance_normalized', 'gradts_task_normalized'] as const;
export const TASKS = ['classification', 'regression'] as const;

type Field = (typeof LOSS_FIELDS)[number] | (typeof GRAD_FIELDS)[number] | (typeof NORMALIZED_FIELDS)[number];
type Fields = Record<Field, unknown>;

const flat = (a: unknown): number[] => (Array.isArray(a) ? a.flatMap(flat) : [a as number]);
export const maxAbs = (a: unknown) => Math.max(...flat(a).map(Math.abs));

/** Each field's relative error against the reference, with the floor its kind calls for (above). */
export function importanceFieldErrors(ours: Fields, ref: Fields): Record<Field, number> {
  const worst = {} as Record<Field, number>;
  for (const k of LOSS_FIELDS) worst[k] = maxRelDiff(ours[k], ref[k], 1e-2 * maxAbs(ref[k]));
  for (const k of GRAD_FIELDS) worst[k] = maxRelDiff(ours[k], ref[k], 1e-3 * maxAbs(ref[k]));
  for (const k of NORMALIZED_FIELDS) worst[k] = maxRelDiff(ours[k], ref[k], 1);
  return worst;
}

/** Row-major [L, A] matrices: the flat indices holding exactly 0 (min) and exactly 1 (max). */
export const extremes = (m: number[][]) => ({
  zeros: m.flat().flatMap((v, i) => (v === 0 ? [i] : [])),
  ones: m.flat().flatMap((v, i) => (v === 1 ? [i] : [])),
});

/** Every min-max-normalised matrix of a task's fields, in a fixed order (task-level mask, task-level GradTS, each instance). */
export const normalizedMatrices = (f: Fields) =>
  [f.importance_normalized, f.gradts_task_normalized, ...(f.gradts_instance_normalized as number[][][])] as number[][][];
