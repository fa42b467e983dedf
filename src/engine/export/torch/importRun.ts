import * as tf from '@tensorflow/tfjs';
import type { ModelSource } from '../../checkpoint/modelSource.ts';
import { loadBertCheckpoint } from '../../checkpoint/hfFolder.ts';
import { parseSafetensors } from '../../checkpoint/safetensors.ts';
import type { LoadedSplit } from '../../data/shardReader.ts';
import { parseExperiment, type Experiment } from '../../experiment/experimentSchema.ts';
import { maskImportance } from '../../analysis/headImportance.ts';
import { taskCorrelationMatrix, type TaskCorrelationMatrix } from '../../analysis/taskCorrelation.ts';
import type { HeadMatrix, LabelledBatch } from '../../analysis/types.ts';
import { createVariantExtension } from '../../model/variants/createVariantExtension.ts';
import { BatchReader } from '../../data/batchReader.ts';
import { batchToTensors } from '../../train/batchTensors.ts';
import { evaluateTasks, type EvaluationResult } from '../../train/evaluate.ts';
import { experimentVariantOptions } from '../../model/experimentParameterCounts.ts';
import { parseHeadsFile } from '../../train/exportCheckpoint.ts';
import { buildEncoder } from '../../model/modelFactory.ts';
import { MultiTaskModel } from '../../model/multiTaskModel.ts';
import { taskSpecFromRegistry } from '../../model/taskSpec.ts';
import { memorySplit, subsetSplit } from '../../train/memorySplit.ts';

export { lastEvaluation, parseRunLog, type RunLogLine } from './runLog.ts';

/**
 * A trained checkpoint folder (HF files + heads.json + experiment.json, and extension.safetensors for a variant)
 * as a Taskscope model: the folder `taskscope train` and the exported PyTorch trainer both write.
 */
export async function loadRunCheckpoint(source: ModelSource): Promise<{ experiment: Experiment; model: MultiTaskModel }> {
  const origin = source.describe();
  const experiment = parseExperiment(JSON.parse(await source.readText('experiment.json')), `${origin}/experiment.json`);
  const ckpt = await loadBertCheckpoint(source);
  const heads = parseHeadsFile(await source.readText('heads.json'), `${origin}/heads.json`);
  const encoder = buildEncoder(experiment, { checkpoint: ckpt });
  let extension = null;
  try {
    if (experiment.variant.kind !== 'mtdnn') {
      if (!(await source.has('extension.safetensors'))) throw new Error(`${origin}: variant ${experiment.variant.kind} needs extension.safetensors`);
      const { tensors } = parseSafetensors(await source.readBytes('extension.safetensors'), `${origin}/extension.safetensors`);
      extension = createVariantExtension({ ...experimentVariantOptions(experiment), bert: encoder.config }, { from: 'tensors', tensors });
    }
    // Heads in the experiment's run order, so variant task ids match training.
    const order = heads.map((h) => h.task);
    const missing = experiment.tasks.filter((t) => !order.includes(t.name));
    if (missing.length) throw new Error(`${origin}/heads.json: no head for ${missing.map((t) => t.name).join(', ')}`);
    const model = MultiTaskModel.create(
      encoder,
      heads.map((h) => ({
        spec: taskSpecFromRegistry(h.task, h.dropout),
        choice: h.kind === 'san' ? ('san' as const) : ('linear' as const),
        init: { snapshot: h },
      })),
      experiment.seed,
      extension,
    );
    return { experiment, model };
  } catch (e) {
    encoder.dispose();
    extension?.dispose();
    throw e;
  }
}

/** A `data/<task>/<split>.jsonl` file of an export (rows of ids, segmentA, label, uid) as a split. */
export function splitFromJsonl(task: string, split: 'train' | 'dev', text: string, padId: number, origin: string): LoadedSplit {
  const spec = taskSpecFromRegistry(task);
  const rows = text.split('\n').flatMap((line, i) => {
    if (!line.trim()) return [];
    let r: { ids?: unknown; segmentA?: unknown; label?: unknown; uid?: unknown };
    try {
      r = JSON.parse(line);
    } catch (e) {
      throw new Error(`${origin}:${i + 1}: not valid JSON (${(e as Error).message})`);
    }
    if (!Array.isArray(r.ids) || !r.ids.every((x) => Number.isInteger(x))) throw new Error(`${origin}:${i + 1}: "ids" must be an array of token ids`);
    if (typeof r.segmentA !== 'number') throw new Error(`${origin}:${i + 1}: "segmentA" must be a number`);
    return [{ ids: r.ids as number[], segmentA: r.segmentA, label: typeof r.label === 'number' ? r.label : NaN, uid: String(r.uid ?? i) }];
  });
  return memorySplit(task, split, rows, { padId, type: spec.type });
}

export interface ImportedRunAnalysis {
  /** Dev metrics computed by Taskscope on the imported weights. */
  evaluation: EvaluationResult;
  /** Per task: mask head importance (raw Σ|∂loss/∂m| and normalised) on its first `importanceRows` dev rows. */
  importance: Record<string, { examples: number; raw: HeadMatrix; normalized: HeadMatrix }>;
  /** Kendall τ-b (GradTS) and Spearman ρ between the tasks' normalised importance matrices; null for one task. */
  correlation: { kendall_tau_b: TaskCorrelationMatrix; spearman: TaskCorrelationMatrix } | null;
}

async function* labelledBatches(
  split: LoadedSplit,
  type: 'classification' | 'regression' | 'ranking',
  numLabels: number,
  batchSize: number,
): AsyncGenerator<LabelledBatch> {
  const reader = new BatchReader([split], { batchSize, seed: 0, shuffle: false, bucketBatches: 1 });
  for (const b of reader.restOfEpoch()) {
    // The consumer (maskImportance) slices single examples out of it; the batch itself is disposed after use.
    const t = batchToTensors(b, type, numLabels);
    try {
      yield t;
    } finally {
      tf.dispose([t.inputIds, t.tokenTypeIds, t.attentionMask, t.labels]);
    }
  }
}

/**
 * Head importance (mask measure) on each task's first `importanceRows` dev rows and the task correlation of the
 * normalised matrices, computed on the imported model: what `import-run` and the page's import (in the trainer
 * worker) both show.
 */
export async function importedHeadAnalysis(
  model: MultiTaskModel,
  dev: Readonly<Record<string, LoadedSplit>>,
  importanceRows: number,
): Promise<Pick<ImportedRunAnalysis, 'importance' | 'correlation'>> {
  const tasks = model.tasks.filter((t) => dev[t]);
  const opts = { importanceRows };
  const importance: ImportedRunAnalysis['importance'] = {};
  for (const t of tasks) {
    const { spec } = model.slot(t);
    const split = dev[t];
    const n = spec.type === 'ranking' ? Math.max(2, opts.importanceRows - (opts.importanceRows % 2)) : opts.importanceRows;
    const rows = Array.from({ length: Math.min(n, split.rows) }, (_, i) => i);
    const part = rows.length === split.rows ? split : subsetSplit(split, rows);
    const r = await maskImportance(model.encoder, model.head(t), labelledBatches(part, spec.type, spec.numLabels, 16), {
      perExample: true,
      taskId: model.taskId(t),
    });
    importance[t] = { examples: r.count, raw: r.raw, normalized: r.normalized };
  }
  const matrices = Object.fromEntries(Object.entries(importance).map(([t, m]) => [t, m.normalized]));
  const correlation =
    Object.keys(matrices).length >= 2
      ? { kendall_tau_b: taskCorrelationMatrix(matrices, 'kendall_tau_b'), spearman: taskCorrelationMatrix(matrices, 'spearman') }
      : null;
  return { importance, correlation };
}

/** What `taskscope import-run` reports, computed by Taskscope itself on the imported model: dev metrics and the head analysis. */
export async function analyseImportedRun(
  model: MultiTaskModel,
  dev: Readonly<Record<string, LoadedSplit>>,
  opts: { evalBatchSize: number; importanceRows: number; step: number; epoch: number },
): Promise<ImportedRunAnalysis> {
  const tasks = model.tasks.filter((t) => dev[t]);
  const evaluation = await evaluateTasks(
    model,
    tasks.map((t) => ({ spec: model.slot(t).spec, dev: dev[t] })),
    opts.evalBatchSize,
    { step: opts.step, epoch: opts.epoch },
  );
  return { evaluation, ...(await importedHeadAnalysis(model, dev, opts.importanceRows)) };
}
