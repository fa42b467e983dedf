import { Rng, type RngState } from '../runtime/rng.ts';
import type { LoadedSplit } from './shardReader.ts';

/**
 * How a reader's batches change from one epoch to the next.
 * - 'fixed': rows are shuffled and cut into batches once per run, and the batches keep one order every epoch
 *   (the yml-era MT-DNN `MultiTaskBatchSampler` used by SIWLM and GradTS; EmBERT/PALs' `itertools.cycle`, which
 *   replays its first pass).
 * - 'fixed-contents': batches are formed once; their order is reshuffled each epoch (MT-DNN v1 `BatchGen.reset`).
 * - 'reshuffle': rows are reshuffled and length-bucketed afresh every epoch. Taskscope's own choice, not a seed's.
 * Epoch 0 is the same under all three.
 */
export type BatchPlanMode = 'fixed' | 'fixed-contents' | 'reshuffle';

export interface BatchReaderOptions {
  batchSize: number;
  seed: number | string;
  /** Shuffle rows within each split and the order of all batches each epoch (default true). */
  shuffle?: boolean;
  /**
   * Length bucketing: rows are sorted by length inside windows of this many batches before being cut into
   * batches, so a batch pads little. 1 turns it off. Default 50.
   */
  bucketBatches?: number;
  /** Leave out each split's last, partial batch (default false). */
  dropLast?: boolean;
  /** What changes between epochs (default 'reshuffle'); see BatchPlanMode. */
  plan?: BatchPlanMode;
}

/** Where a reader is; plain JSON, saved with a training checkpoint. */
export interface BatchPosition {
  epoch: number;
  /** Batches already handed out in this epoch. */
  cursor: number;
  /** The generator state at the start of this epoch: the epoch's plan is made from it. */
  rngState: RngState;
}

/** One batch of one (task, split), padded to its own longest row. */
export interface Batch {
  task: string;
  split: string;
  /** Row-major [batchSize × seqLen]. */
  inputIds: Int32Array;
  tokenTypeIds: Int32Array;
  attentionMask: Int32Array;
  /** Class id or score per row; NaN on unlabelled splits. */
  labels: Float32Array;
  uids: string[];
  batchSize: number;
  seqLen: number;
}

interface PlannedBatch {
  split: number;
  rows: Uint32Array;
}

/**
 * Seeded, resumable batches over any mix of loaded splits. Each epoch uses every row once: rows are shuffled
 * per split, length-bucketed, cut into single-split batches, and all batches are shuffled together (so tasks
 * mix in proportion to their sizes). Whether later epochs form new batches follows `plan`. An epoch's plan
 * depends only on the seed and the generator state at its start, which is what a position saves.
 */
export class BatchReader {
  private readonly batchSize: number;
  private readonly shuffle: boolean;
  private readonly bucketBatches: number;
  private readonly dropLast: boolean;
  private readonly planMode: BatchPlanMode;
  /** Epoch 0's plan and the generator state after it: every plan of 'fixed'/'fixed-contents' starts from it. */
  private readonly firstPlan: PlannedBatch[];
  private readonly afterFirstPlan: RngState;
  private epoch = 0;
  private cursor = 0;
  private epochState: RngState;
  private plan: PlannedBatch[] = [];
  private nextEpochState: RngState;

  constructor(
    readonly splits: readonly LoadedSplit[],
    opts: BatchReaderOptions,
  ) {
    if (!Number.isInteger(opts.batchSize) || opts.batchSize < 1) throw new Error(`batchSize must be a positive integer, got ${opts.batchSize}`);
    if (splits.length === 0) throw new Error('the batch reader needs at least one split');
    this.batchSize = opts.batchSize;
    this.shuffle = opts.shuffle ?? true;
    this.bucketBatches = opts.bucketBatches ?? 50;
    if (!Number.isInteger(this.bucketBatches) || this.bucketBatches < 1) throw new Error(`bucketBatches must be a positive integer, got ${opts.bucketBatches}`);
    this.dropLast = opts.dropLast ?? false;
    this.planMode = opts.plan ?? 'reshuffle';
    if (!['fixed', 'fixed-contents', 'reshuffle'].includes(this.planMode))
      throw new Error(`plan must be 'fixed', 'fixed-contents' or 'reshuffle', got ${String(opts.plan)}`);
    this.epochState = new Rng(opts.seed).getState();
    const rng = Rng.fromState(this.epochState);
    this.firstPlan = this.formBatches(rng);
    this.afterFirstPlan = rng.getState();
    this.nextEpochState = this.makePlan();
  }

  get position(): BatchPosition {
    return { epoch: this.epoch, cursor: this.cursor, rngState: [...this.epochState] as RngState };
  }

  restore(p: BatchPosition): void {
    if (!Number.isInteger(p.epoch) || p.epoch < 0 || !Number.isInteger(p.cursor) || p.cursor < 0) {
      throw new Error(`batch position needs integer epoch and cursor >= 0, got ${JSON.stringify(p)}`);
    }
    this.epoch = p.epoch;
    this.epochState = Rng.fromState(p.rngState).getState();
    this.nextEpochState = this.makePlan();
    if (p.cursor > this.plan.length) throw new Error(`batch position cursor ${p.cursor} is past the epoch's ${this.plan.length} batches`);
    this.cursor = p.cursor;
  }

  get batchesPerEpoch(): number {
    return this.plan.length;
  }

  get currentEpoch(): number {
    return this.epoch;
  }

  /** The next batch; after the epoch's last batch the next epoch begins with a new plan. */
  next(): Batch {
    if (this.cursor >= this.plan.length) {
      this.epoch++;
      this.epochState = this.nextEpochState;
      this.nextEpochState = this.makePlan();
      this.cursor = 0;
      if (this.plan.length === 0) throw new Error('the batch reader has no batches (empty splits, or dropLast with fewer rows than batchSize)');
    }
    const b = this.plan[this.cursor++];
    return this.materialize(b);
  }

  /** The batches left in the current epoch. */
  *restOfEpoch(): Generator<Batch> {
    while (this.cursor < this.plan.length) yield this.materialize(this.plan[this.cursor++]);
  }

  /** Sets this epoch's plan from the epoch and epochState; returns the state the next epoch starts from. */
  private makePlan(): RngState {
    if (this.epoch === 0 || this.planMode === 'fixed') {
      this.plan = this.firstPlan;
      // 'fixed' consumes nothing after epoch 0, so every later epoch starts from the same state.
      return this.epoch === 0 ? this.afterFirstPlan : this.epochState;
    }
    const rng = Rng.fromState(this.epochState);
    if (this.planMode === 'fixed-contents') {
      this.plan = this.shuffle ? rng.shuffle([...this.firstPlan]) : this.firstPlan;
    } else {
      this.plan = this.formBatches(rng);
    }
    return rng.getState();
  }

  /** Shuffles rows per split, length-buckets them, cuts single-split batches and shuffles all batches together. */
  private formBatches(rng: Rng): PlannedBatch[] {
    const plan: PlannedBatch[] = [];
    this.splits.forEach((s, si) => {
      const order = Array.from({ length: s.rows }, (_, i) => i);
      if (this.shuffle) rng.shuffle(order);
      const window = this.batchSize * this.bucketBatches;
      for (let w = 0; w < order.length; w += window) {
        const chunk = order.slice(w, w + window);
        // Stable sort by length: ties keep their shuffled order.
        if (this.bucketBatches > 1) chunk.sort((a, b) => s.lengths[a] - s.lengths[b]);
        for (let k = 0; k < chunk.length; k += this.batchSize) {
          const rows = chunk.slice(k, k + this.batchSize);
          if (rows.length < this.batchSize && this.dropLast) continue;
          plan.push({ split: si, rows: Uint32Array.from(rows) });
        }
      }
    });
    if (this.shuffle) rng.shuffle(plan);
    return plan;
  }

  private materialize(b: PlannedBatch): Batch {
    const s = this.splits[b.split];
    const n = b.rows.length;
    let seqLen = 0;
    for (let i = 0; i < n; i++) seqLen = Math.max(seqLen, s.lengths[b.rows[i]]);
    const inputIds = new Int32Array(n * seqLen).fill(s.manifest.padId);
    const tokenTypeIds = new Int32Array(n * seqLen);
    const attentionMask = new Int32Array(n * seqLen);
    const labels = new Float32Array(n);
    const uids = new Array<string>(n);
    for (let i = 0; i < n; i++) {
      const r = b.rows[i];
      const len = s.lengths[r];
      const start = s.offsets[r];
      const base = i * seqLen;
      inputIds.set(s.ids.subarray(start, start + len), base);
      tokenTypeIds.fill(1, base + s.segmentA[r], base + len);
      attentionMask.fill(1, base, base + len);
      labels[i] = s.labels[r];
      uids[i] = s.uids[r];
    }
    return { task: s.task, split: s.split, inputIds, tokenTypeIds, attentionMask, labels, uids, batchSize: n, seqLen };
  }
}
