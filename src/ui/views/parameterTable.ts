import type { Experiment } from '../../engine/experiment/experimentSchema.ts';
import { experimentParameterCounts, randomModelShape, type HeadShape } from '../../engine/model/experimentParameterCounts.ts';
import { SYNTHETIC_SPECS } from '../../engine/synthetic/syntheticSpecs.ts';

/**
 * The Experiment view's parameter table: what the model of the edited experiment would hold, split into the
 * parts every task shares and the parts each task owns, from shapes alone (the page never allocates tensors).
 */

/** Head shapes of the generated tasks (demo SYN-* and planted PL-*), from the engine's shape-only specs. */
export const SYNTHETIC_HEADS: Record<string, HeadShape> = Object.fromEntries(
  Object.entries(SYNTHETIC_SPECS).map(([k, s]) => [k, { type: s.type, numLabels: s.numLabels }]),
);

export interface ParameterRow {
  /** `encoder`, `variant-shared`, or `task-<name>` (test ids). */
  key: string;
  part: string;
  params: number;
  detail: string;
}

export type ParameterTable = { status: 'ok'; shape: string; rows: ParameterRow[]; total: number } | { status: 'unknown' | 'error'; message: string };

const VARIANT_LABEL = { mtdnn: 'MT-DNN', embert: 'EmBERT', gated: 'Gated-BERT', pals: 'PALs' } as const;

export const formatCount = (x: number) => x.toLocaleString('en-US');

/** Share of the total; parts under 0.1 % would round to a misleading 0.0 %. */
export function formatShare(part: number, total: number): string {
  const p = (100 * part) / total;
  return part > 0 && p < 0.1 ? '<0.1 %' : `${p.toFixed(1)} %`;
}

export function parameterTable(exp: Experiment): ParameterTable {
  const shape = randomModelShape(exp);
  if (!shape) {
    return {
      status: 'unknown',
      message:
        "Parameter counts are known after loading: the encoder's shape comes from the checkpoint's config.json (the CLI prints them when training starts).",
    };
  }
  let counts;
  try {
    counts = experimentParameterCounts(exp, shape, SYNTHETIC_HEADS);
  } catch (e) {
    return { status: 'error', message: (e as Error).message };
  }
  const variant = VARIANT_LABEL[counts.variant];
  const rows: ParameterRow[] = [
    {
      key: 'encoder',
      part: 'shared encoder',
      params: counts.sharedEncoder,
      detail: `BERT embeddings, ${shape.numHiddenLayers} layers, pooler`,
    },
    {
      key: 'variant-shared',
      part: 'variant, shared',
      params: counts.variantShared,
      detail: counts.variant === 'gated' ? `${variant} gates over the flattened [128·H] sequence` : `${variant} has none`,
    },
    ...counts.tasks.map((t) => ({
      key: `task-${t.task}`,
      part: `${t.task} (own)`,
      params: t.total,
      detail: `${variant} ${formatCount(t.variant)} + ${t.headKind} head ${formatCount(t.head)}`,
    })),
  ];
  const vocab = exp.model.kind === 'random' && exp.model.vocab === 'synthetic' ? 'synthetic vocabulary' : 'bert-base-uncased vocabulary';
  return {
    status: 'ok',
    shape: `random encoder: ${shape.numHiddenLayers} layers, H ${shape.hiddenSize}, intermediate ${shape.intermediateSize}, ${formatCount(shape.vocabSize)} tokens (${vocab})`,
    rows,
    total: counts.total,
  };
}
