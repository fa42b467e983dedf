import { saveBertCheckpoint } from '../checkpoint/hfFolder.ts';
import type { BertCheckpoint } from '../checkpoint/types.ts';
import { sha256Hex } from '../data/sha256.ts';

/**
 * A release checkpoint: a pretraining run's weights in half precision (F16, rounded to nearest even as
 * PyTorch's `model.half()` does), small enough to keep in the repository, with what it takes to trust and
 * rebuild it: the run's stages and their held-out figures (from its log.jsonl), the held-out evaluation of the
 * F16 weights themselves beside the F32 ones, and a SHA-256 of every file (`SHA256SUMS`, `sha256sum -c` format).
 */

export const RELEASE_MANIFEST = 'release.json';
export const RELEASE_SUMS = 'SHA256SUMS';

export interface HeldOutFigure {
  step: number;
  loss: number;
  accuracy: number;
}

/** One `taskscope pretrain` invocation of the run: a new start or a `--resume`. */
export interface PretrainStage {
  fromStep: number;
  /** The last step it logged (its `end` record's step when it ended normally). */
  toStep: number;
  /** Wall time of the training loop; null when the stage was killed before its `end` record. */
  wallSeconds: number | null;
  backend: string | null;
  /** The schedule's total (`--steps`) this stage ran under. */
  scheduleSteps: number | null;
  heldOut: HeldOutFigure[];
}

type LogRecord = Record<string, unknown> & { type?: unknown };

/** The stages of a pretraining run, read from its log.jsonl; a malformed line is named by its number. */
export function pretrainStages(logText: string, origin: string): PretrainStage[] {
  const stages: PretrainStage[] = [];
  const lines = logText.split('\n');
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    let rec: LogRecord;
    try {
      rec = JSON.parse(line) as LogRecord;
    } catch (e) {
      throw new Error(`${origin}:${i + 1}: not a JSON line (${(e as Error).message})`);
    }
    const num = (k: string): number => {
      const x = rec[k];
      if (typeof x !== 'number' || !Number.isFinite(x)) throw new Error(`${origin}:${i + 1}: ${String(rec.type)} record without a numeric ${k}`);
      return x;
    };
    if (rec.type === 'start') {
      const resumedAt = rec.resumedAt;
      const from = typeof resumedAt === 'number' ? resumedAt : 0;
      const options = (rec.options ?? {}) as Record<string, unknown>;
      const steps = Number(options.steps);
      stages.push({
        fromStep: from,
        toStep: from,
        wallSeconds: null,
        backend: typeof rec.backend === 'string' ? rec.backend : null,
        scheduleSteps: Number.isInteger(steps) ? steps : null,
        heldOut: [],
      });
      return;
    }
    const stage = stages.at(-1);
    if (!stage) throw new Error(`${origin}:${i + 1}: a ${String(rec.type)} record before any start record`);
    if (rec.type === 'step') stage.toStep = num('step');
    else if (rec.type === 'eval') stage.heldOut.push({ step: num('step'), loss: num('heldOutLoss'), accuracy: num('heldOutAccuracy') });
    else if (rec.type === 'end') {
      stage.toStep = num('step');
      stage.wallSeconds = num('wallSeconds');
    }
  });
  if (stages.length === 0) throw new Error(`${origin}: no start record; is this a taskscope pretrain log?`);
  return stages;
}

/**
 * The release's model files: config, vocabulary, tokenizer config and F16 weights of the encoder plus its MLM
 * head (`cls.predictions.*`, so the release can be evaluated and pretrained further with `--init`).
 */
export function releaseModelFiles(ckpt: BertCheckpoint, step: number): Map<string, Uint8Array<ArrayBuffer>> {
  const head = new Map([...(ckpt.extraTensors ?? new Map())].filter(([name]) => name.startsWith('cls.predictions.')));
  if (head.size === 0) throw new Error(`${ckpt.origin}: no cls.predictions.* tensors; a release needs the MLM head to evaluate it`);
  return saveBertCheckpoint(
    { config: ckpt.config, vocabText: ckpt.vocabText, doLowerCase: ckpt.doLowerCase, tensors: ckpt.tensors, extraTensors: head },
    { dtype: 'F16', metadata: { taskscope_step: String(step), taskscope_release: 'f16' } },
  );
}

export interface ReleaseFileEntry {
  name: string;
  bytes: number;
  sha256: string;
}

/** Size and SHA-256 of each file, sorted by name. */
export async function releaseFileEntries(files: ReadonlyMap<string, Uint8Array>): Promise<ReleaseFileEntry[]> {
  const names = [...files.keys()].sort();
  return Promise.all(names.map(async (name) => ({ name, bytes: files.get(name)!.length, sha256: await sha256Hex(files.get(name)!) })));
}

/** `sha256sum -c` input: "<hex>  <name>" per file. */
export function sha256SumsText(entries: readonly ReleaseFileEntry[]): string {
  return entries.map((e) => `${e.sha256}  ${e.name}\n`).join('');
}

/** The files whose `SHA256SUMS` line is missing or does not match; an empty list means the release is intact. */
export async function verifySha256Sums(sumsText: string, files: ReadonlyMap<string, Uint8Array>): Promise<string[]> {
  const problems: string[] = [];
  const listed = new Set<string>();
  for (const [i, line] of sumsText.split('\n').entries()) {
    if (line.trim() === '') continue;
    const m = /^([0-9a-f]{64}) {2}(\S+)$/.exec(line);
    if (!m) {
      problems.push(`${RELEASE_SUMS}:${i + 1}: not "<sha256>  <file>"`);
      continue;
    }
    listed.add(m[2]);
    const bytes = files.get(m[2]);
    if (!bytes) problems.push(`${m[2]}: listed in ${RELEASE_SUMS} but missing`);
    else if ((await sha256Hex(bytes)) !== m[1]) problems.push(`${m[2]}: SHA-256 differs from ${RELEASE_SUMS}`);
  }
  for (const name of files.keys()) if (name !== RELEASE_SUMS && !listed.has(name)) problems.push(`${name}: not listed in ${RELEASE_SUMS}`);
  return problems;
}
