import type { SplitName, TaskName, TaskType } from '../../../datasets/types.ts';
import type { LoadedSplit } from '../data/shardReader.ts';

/** One tokenized row: `[CLS] a [SEP] (b [SEP])` ids, how many belong to the first segment, and the label. */
export interface TokenizedRow {
  ids: readonly number[];
  /** Tokens of `[CLS] a [SEP]`; defaults to all of them (a single sentence). */
  segmentA?: number;
  /** Class id or score; NaN or absent = unlabelled. */
  label?: number;
  uid?: string;
}

/**
 * A split held in memory in the same layout the shard reader produces, so the batch reader and the trainer
 * take it unchanged (tests, the synthetic demo, small user-made tasks).
 */
export function memorySplit(
  task: string,
  split: SplitName,
  rows: readonly TokenizedRow[],
  opts: { padId?: number; type?: TaskType; labels?: readonly string[] | null } = {},
): LoadedSplit {
  const n = rows.length;
  const offsets = new Uint32Array(n + 1);
  rows.forEach((r, i) => {
    if (r.ids.length === 0 || r.ids.length > 0xffff) throw new Error(`memorySplit ${task}/${split}: row ${i} has ${r.ids.length} tokens`);
    offsets[i + 1] = offsets[i] + r.ids.length;
  });
  const ids = new Int32Array(offsets[n]);
  const lengths = new Uint16Array(n);
  const segmentA = new Uint16Array(n);
  const labels = new Float32Array(n);
  const uids = new Array<string>(n);
  let maxLength = 0;
  rows.forEach((r, i) => {
    ids.set(r.ids, offsets[i]);
    lengths[i] = r.ids.length;
    segmentA[i] = r.segmentA ?? r.ids.length;
    labels[i] = r.label ?? NaN;
    uids[i] = r.uid ?? String(i);
    maxLength = Math.max(maxLength, r.ids.length);
  });
  const padId = opts.padId ?? 0;
  return {
    task: task as TaskName,
    split,
    manifest: {
      format: 'taskscope-shards/1',
      task: task as TaskName,
      split,
      variant: 'memory',
      taskType: opts.type ?? 'classification',
      labels: opts.labels ?? null,
      source: { kind: 'tsv', origin: 'memory', file: `${task}/${split}` },
      sourceChecksums: {},
      vocabHash: '',
      doLowerCase: true,
      padId,
      maxLength,
      shardSize: n,
      rows: n,
      tokens: ids.length,
      bytes: 0,
      skippedRows: 0,
      rowsAtMaxLength: 0,
      complete: true,
      shards: [],
      updatedAt: new Date(0).toISOString(),
    },
    rows: n,
    ids,
    offsets,
    lengths,
    segmentA,
    labels,
    uids,
  };
}

/** Keeps only the given rows of a split (in the given order): trainFraction / maxTrainRows subsets. */
export function subsetSplit(s: LoadedSplit, rowIndices: readonly number[]): LoadedSplit {
  const rows: TokenizedRow[] = rowIndices.map((r) => {
    if (!Number.isInteger(r) || r < 0 || r >= s.rows) throw new Error(`subsetSplit ${s.task}/${s.split}: row ${r} is outside 0..${s.rows - 1}`);
    return { ids: Array.from(s.ids.subarray(s.offsets[r], s.offsets[r + 1])), segmentA: s.segmentA[r], label: s.labels[r], uid: s.uids[r] };
  });
  const out = memorySplit(s.task, s.split, rows, { padId: s.manifest.padId, type: s.manifest.taskType, labels: s.manifest.labels });
  return { ...out, manifest: { ...s.manifest, rows: out.rows, tokens: out.ids.length, shards: [], variant: `${s.manifest.variant}-subset` } };
}
