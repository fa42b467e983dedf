import { GLUE_TASKS } from '../../../datasets/glueTasks.ts';
import type { TaskDef } from '../../../datasets/types.ts';
import type { DataIssue } from '../data/dataError.ts';
import type { DataSource } from '../data/types.ts';
import type { Rng } from '../runtime/rng.ts';

/**
 * The masked-LM corpus: every text of every GLUE split a source holds (labels ignored), deduplicated, in file
 * order, so a pair's two texts stay neighbours. Packing follows BERT's `create_instances_from_document` with
 * the whole corpus as one document and no next-sentence task: consecutive sentences are gathered until they
 * fill maxLength − 3 tokens, cut at a random sentence boundary into segment A (type 0) and segment B (type 1),
 * truncated longest-first from the end, and written as `[CLS] A [SEP] B [SEP]`. A chunk of one sentence gives
 * `[CLS] A [SEP]`. Two segments (rather than RoBERTa's one) train the type-1 embedding that pair tasks use.
 */

export interface CorpusText {
  /** Deduplicated texts in the order read. */
  texts: string[];
  /** `Task/split` → texts read (before deduplication). */
  perSplit: Record<string, number>;
  /** Rows skipped as malformed (collected, not thrown). */
  issues: DataIssue[];
}

/** Reads the text of every task and split that `source` holds; splits it lacks are skipped. */
export async function readGlueText(source: DataSource, tasks: readonly TaskDef[] = GLUE_TASKS): Promise<CorpusText> {
  const seen = new Set<string>();
  const texts: string[] = [];
  const perSplit: Record<string, number> = {};
  const issues: DataIssue[] = [];
  const add = (t: string | undefined) => {
    const s = t?.trim();
    if (!s || seen.has(s)) return;
    seen.add(s);
    texts.push(s);
  };
  for (const task of tasks) {
    for (const split of task.splits) {
      if (source.kind === 'tsv' && !split.tsv) continue;
      if (source.kind === 'parquet' && !split.hubSplit) continue;
      if ((await source.locate(task, split.name)) === null) continue;
      let n = 0;
      for await (const ex of source.open(task, split.name, { onMalformed: 'collect', issues })) {
        add(ex.textA);
        add(ex.textB);
        n++;
      }
      perSplit[`${task.name}/${split.name}`] = n;
    }
  }
  if (texts.length === 0) throw new Error(`pretraining corpus: no GLUE text found in ${source.describe()}`);
  return { texts, perSplit, issues };
}

/** One packed sequence, unpadded: `[CLS] A [SEP] (B [SEP])`. */
export interface PackedSequence {
  ids: Int32Array;
  typeIds: Int32Array;
}

export interface PackOptions {
  maxLength: number;
  clsId: number;
  sepId: number;
}

/** Token ids → packed sequences (see the file comment). `rng` picks the A/B cut points. */
export function packSentences(sentences: readonly (readonly number[])[], opts: PackOptions, rng: Rng): PackedSequence[] {
  const { maxLength, clsId, sepId } = opts;
  if (!Number.isInteger(maxLength) || maxLength < 8) throw new Error(`packing: maxLength must be an integer >= 8, got ${maxLength}`);
  const target = maxLength - 3;
  const out: PackedSequence[] = [];
  let chunk: (readonly number[])[] = [];
  let chunkTokens = 0;
  const flush = () => {
    if (chunk.length === 0) return;
    if (chunk.length === 1) {
      const a = chunk[0].slice(0, maxLength - 2);
      out.push(build(a, null, clsId, sepId));
    } else {
      const aEnd = 1 + rng.int(chunk.length - 1);
      const a = chunk.slice(0, aEnd).flat();
      const b = chunk.slice(aEnd).flat();
      while (a.length + b.length > target) (a.length > b.length ? a : b).pop();
      out.push(build(a, b, clsId, sepId));
    }
    chunk = [];
    chunkTokens = 0;
  };
  for (const s of sentences) {
    if (s.length === 0) continue;
    chunk.push(s);
    chunkTokens += s.length;
    if (chunkTokens >= target) flush();
  }
  flush();
  return out;
}

function build(a: readonly number[], b: readonly number[] | null, clsId: number, sepId: number): PackedSequence {
  const n = 2 + a.length + (b ? b.length + 1 : 0);
  const ids = new Int32Array(n);
  const typeIds = new Int32Array(n);
  ids[0] = clsId;
  ids.set(a, 1);
  ids[1 + a.length] = sepId;
  if (b) {
    const start = 2 + a.length;
    ids.set(b, start);
    ids[n - 1] = sepId;
    typeIds.fill(1, start);
  }
  return { ids, typeIds };
}

export interface MlmCorpus {
  train: PackedSequence[];
  heldOut: PackedSequence[];
  /** Texts after deduplication and their token count. */
  texts: number;
  tokens: number;
  perSplit: Record<string, number>;
  issues: DataIssue[];
}

export interface BuildCorpusOptions extends PackOptions {
  /** Sequences kept out of training for the held-out MLM loss/accuracy. */
  heldOut: number;
  tokenize: (text: string) => number[];
}

/** Read, tokenize, pack, shuffle (with `rng`), and split off the last `heldOut` sequences. */
export async function buildMlmCorpus(source: DataSource, opts: BuildCorpusOptions, rng: Rng): Promise<MlmCorpus> {
  const text = await readGlueText(source);
  const sentences = text.texts.map(opts.tokenize);
  const tokens = sentences.reduce((s, x) => s + x.length, 0);
  const packed = rng.shuffle(packSentences(sentences, opts, rng));
  if (!(Number.isInteger(opts.heldOut) && opts.heldOut >= 0 && opts.heldOut < packed.length)) {
    throw new Error(`pretraining corpus: heldOut must be an integer in [0, ${packed.length}), got ${opts.heldOut}`);
  }
  return {
    train: packed.slice(0, packed.length - opts.heldOut),
    heldOut: packed.slice(packed.length - opts.heldOut),
    texts: text.texts.length,
    tokens,
    perSplit: text.perSplit,
    issues: text.issues,
  };
}

export interface PaddedBatch {
  B: number;
  T: number;
  inputIds: Int32Array;
  typeIds: Int32Array;
  attentionMask: Int32Array;
  /** Real (unpadded) tokens in the batch. */
  realTokens: number;
}

/** Pads the sequences to the longest of them with `padId`. */
export function padBatch(seqs: readonly PackedSequence[], padId: number): PaddedBatch {
  const B = seqs.length;
  const T = Math.max(...seqs.map((s) => s.ids.length));
  const inputIds = new Int32Array(B * T).fill(padId);
  const typeIds = new Int32Array(B * T);
  const attentionMask = new Int32Array(B * T);
  let realTokens = 0;
  seqs.forEach((s, b) => {
    inputIds.set(s.ids, b * T);
    typeIds.set(s.typeIds, b * T);
    attentionMask.fill(1, b * T, b * T + s.ids.length);
    realTokens += s.ids.length;
  });
  return { B, T, inputIds, typeIds, attentionMask, realTokens };
}
