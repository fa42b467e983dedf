import { zipSync } from 'fflate';
import { GLUE_TASKS, getSplit, getTask } from '../../../datasets/glueTasks.ts';
import type { SplitName, TaskDef } from '../../../datasets/types.ts';

/**
 * The GLUE server's submission (docs/methods.md §1.11, §7.19): one TSV per test set, named as the server wants
 * (`CoLA.tsv`, `MNLI-m.tsv`, …, `AX.tsv`; names and label formats from the task registry), each with the header
 * `index\tprediction` and one row per test example sorted by integer index. Tasks with a label vocabulary of
 * names write the label string (MNLI, QNLI, RTE, AX), the binary tasks the class id, and STS-B the score with
 * 3 decimals clipped to [0, 5] (Taskscope decision 4). AX is predicted with the MNLI head, so its predictions
 * are MNLI class ids.
 */

/** One test set's predictions, e.g. evaluate.ts `SplitPredictions` plus the split. */
export interface SubmissionPredictions {
  /** Registry name or alias ('MNLI', 'sts', …). */
  task: string;
  /** The test split ('test', 'test_matched', 'test_mismatched'). */
  split: string;
  uids: readonly string[];
  /** Class ids (classification) or scores (regression), one per uid. */
  predictions: ArrayLike<number>;
}

export interface SubmissionTarget {
  task: TaskDef;
  split: SplitName;
  file: string;
  /** Official number of test examples. */
  rows?: number;
}

export interface SubmissionOptions {
  /** Write only the files that have predictions instead of refusing an incomplete submission. */
  allowPartial?: boolean;
  /** Modification time stored in the zip (fixed by default, so the same predictions give the same bytes). */
  mtime?: Date;
}

export interface SubmissionFiles {
  /** File name → TSV text, in the registry's order. */
  files: Map<string, string>;
  /** Files of the full submission that have no predictions (only with allowPartial). */
  missing: string[];
  /** Files whose row count differs from the official test set size (the server would reject them). */
  warnings: string[];
}

/** Every file of a full GLUE submission, in registry order: 11 files (MNLI has two, AX is the diagnostic set). */
export function submissionTargets(): SubmissionTarget[] {
  return GLUE_TASKS.flatMap((task) => task.splits.filter((s) => s.submissionFile).map((s) => ({ task, split: s.name, file: s.submissionFile!, rows: s.rows })));
}

function formatPrediction(target: SubmissionTarget, value: number, uid: string): string {
  const { task, file } = target;
  const where = `${file}: prediction for index ${uid}`;
  if (!Number.isFinite(value)) throw new Error(`${where} is ${value}`);
  switch (task.submissionFormat) {
    case 'float3': {
      const [lo, hi] = task.scoreRange ?? [-Infinity, Infinity];
      return Math.min(hi, Math.max(lo, value)).toFixed(3);
    }
    case 'int':
    case 'string': {
      const labels = task.labels;
      if (!labels) throw new Error(`${task.name} has no label vocabulary for a ${task.submissionFormat} submission`);
      if (!Number.isInteger(value) || value < 0 || value >= labels.length) {
        throw new Error(`${where} is ${value}, not a class id in [0, ${labels.length})`);
      }
      return task.submissionFormat === 'int' ? String(value) : labels[value];
    }
    default:
      throw new Error(`${task.name} has no submission format in the task registry`);
  }
}

/** One submission file's text: `index\tprediction`, then the rows sorted by integer index, newline-terminated. */
export function submissionTsv(target: SubmissionTarget, p: SubmissionPredictions): string {
  if (p.uids.length !== p.predictions.length) {
    throw new Error(`${target.file}: ${p.uids.length} uids but ${p.predictions.length} predictions`);
  }
  const rows = p.uids.map((uid, i) => {
    if (!/^\d+$/.test(uid))
      throw new Error(`${target.file}: index ${JSON.stringify(uid)} is not a non-negative integer (GLUE test files are indexed by integers)`);
    return { index: Number(uid), uid, value: p.predictions[i] };
  });
  rows.sort((a, b) => a.index - b.index);
  for (let i = 1; i < rows.length; i++) {
    if (rows[i].index === rows[i - 1].index) throw new Error(`${target.file}: index ${rows[i].uid} is predicted twice`);
  }
  const lines = ['index\tprediction', ...rows.map((r) => `${r.index}\t${formatPrediction(target, r.value, r.uid)}`)];
  return `${lines.join('\n')}\n`;
}

/** The submission's TSV files. Without allowPartial every one of the 11 must have predictions. */
export function buildSubmissionFiles(predictions: readonly SubmissionPredictions[], opts: SubmissionOptions = {}): SubmissionFiles {
  const targets = submissionTargets();
  const byFile = new Map<string, SubmissionPredictions>();
  for (const p of predictions) {
    const task = getTask(p.task);
    const def = getSplit(task, p.split);
    if (!def.submissionFile) {
      const tests = task.splits.filter((s) => s.submissionFile).map((s) => s.name);
      throw new Error(
        `GLUE submission: ${task.name} ${p.split} is not a submitted test set (${tests.length ? `use ${tests.join(' / ')}` : `${task.name} is not part of GLUE's submission`})`,
      );
    }
    if (byFile.has(def.submissionFile)) throw new Error(`GLUE submission: predictions for ${def.submissionFile} (${task.name} ${p.split}) are given twice`);
    byFile.set(def.submissionFile, p);
  }
  const missing = targets.filter((t) => !byFile.has(t.file));
  if (missing.length && !opts.allowPartial) {
    const list = missing.map((t) => `${t.file} (${t.task.name} ${t.split})`).join(', ');
    throw new Error(`GLUE submission: no predictions for ${list}; predict them, or allow a partial submission to write only the others`);
  }
  const files = new Map<string, string>();
  const warnings: string[] = [];
  for (const t of targets) {
    const p = byFile.get(t.file);
    if (!p) continue;
    files.set(t.file, submissionTsv(t, p));
    if (t.rows !== undefined && p.uids.length !== t.rows)
      warnings.push(`${t.file} has ${p.uids.length} rows; the official ${t.task.name} ${t.split} set has ${t.rows}`);
  }
  return { files, missing: missing.map((t) => t.file), warnings };
}

const ZIP_TIME = new Date(2020, 0, 1);

/** The files zipped (deflate) for upload to gluebenchmark.com. */
export function zipSubmission(files: ReadonlyMap<string, string>, mtime: Date = ZIP_TIME): Uint8Array {
  const enc = new TextEncoder();
  const entries: Record<string, Uint8Array> = {};
  for (const [name, text] of files) entries[name] = enc.encode(text);
  return zipSync(entries, { level: 6, mtime });
}

/** Predictions → the zip the GLUE server takes, with what was left out and any row-count warnings. */
export function buildSubmissionZip(predictions: readonly SubmissionPredictions[], opts: SubmissionOptions = {}): SubmissionFiles & { zip: Uint8Array } {
  const built = buildSubmissionFiles(predictions, opts);
  return { ...built, zip: zipSubmission(built.files, opts.mtime) };
}
