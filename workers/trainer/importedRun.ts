import { parseBertConfig } from '../../src/engine/checkpoint/bertConfig.ts';
import { parseExperiment } from '../../src/engine/experiment/experimentSchema.ts';
import { lastEvaluation, parseRunLog } from '../../src/engine/export/torch/runLog.ts';
import type { TaskCorrelationMatrix } from '../../src/engine/analysis/taskCorrelation.ts';
import type { HeadMatrix } from '../../src/engine/analysis/types.ts';
import type { LossPoint, RunRecord } from './types.ts';

/** Taskscope's analysis of the imported checkpoint (importedHeadAnalysis), computed where the run is imported. */
export interface ImportedHeads {
  importance: Record<string, { examples: number; normalized: HeadMatrix }>;
  correlation: { kendall_tau_b: TaskCorrelationMatrix; spearman: TaskCorrelationMatrix } | null;
}

function json<T>(files: ReadonlyMap<string, string>, name: string, required: boolean): T | undefined {
  const text = files.get(name);
  if (text === undefined) {
    if (required) throw new Error(`${name} is missing: pick the folder train.py wrote (--out), after \`taskscope import-run\` on it`);
    return undefined;
  }
  try {
    return JSON.parse(text) as T;
  } catch (e) {
    throw new Error(`${name}: not valid JSON (${(e as Error).message})`);
  }
}

/**
 * A run trained by an export-torch folder, as a stored run of the workbench: loss curves from log.jsonl, the last
 * evaluation, and the head importance and task correlation Taskscope computed on the imported checkpoint (`heads`).
 * `files` maps paths inside the run folder (`log.jsonl`, `metrics.json`, `checkpoint/config.json`, …) to their text.
 */
export function importedRunRecord(
  files: ReadonlyMap<string, string>,
  id: string,
  now = new Date().toISOString(),
  heads: ImportedHeads | null = null,
): RunRecord {
  const logText = files.get('log.jsonl');
  if (logText === undefined) throw new Error('log.jsonl is missing: pick the folder train.py wrote (--out)');
  const log = parseRunLog(logText, 'log.jsonl');
  const experiment = parseExperiment(json(files, 'checkpoint/experiment.json', true), 'checkpoint/experiment.json');
  const configText = files.get('checkpoint/config.json');
  if (configText === undefined) throw new Error('checkpoint/config.json is missing: the run has no trained checkpoint');
  const config = parseBertConfig(configText, 'checkpoint/config.json');
  const metrics = json<Record<string, unknown>>(files, 'metrics.json', false) ?? {};
  const steps = log.filter((l) => l.type === 'step');
  const last = steps[steps.length - 1];
  const losses: LossPoint[] = steps.flatMap((s) => {
    const per = (s.perTaskLoss ?? {}) as Record<string, number>;
    return [...new Set((s.tasks as string[] | undefined) ?? [String(s.task)])].map((task) => ({
      step: s.step as number,
      task,
      loss: per[task] ?? (s.loss as number),
    }));
  });
  const step = last.step as number;
  const num = (x: unknown) => (typeof x === 'number' ? x : 0);
  return {
    id,
    name: `${experiment.name} (PyTorch)`,
    createdAt: now,
    updatedAt: now,
    status: metrics.status === 'stopped' ? 'stopped' : 'done',
    experiment,
    model: {
      origin: 'export-torch run',
      layers: config.numHiddenLayers,
      heads: config.numAttentionHeads,
      hidden: config.hiddenSize,
      vocabSize: config.vocabSize,
    },
    dataKind: 'synthetic',
    backend: typeof metrics.backend === 'string' ? metrics.backend : 'torch',
    step,
    totalSteps: num(last.totalSteps) || step,
    checkpointStep: null,
    evaluation: lastEvaluation(log),
    importance: heads
      ? {
          step,
          measure: 'mask',
          tasks: Object.fromEntries(Object.entries(heads.importance).map(([t, m]) => [t, m.normalized])),
          probeRows: Object.fromEntries(Object.entries(heads.importance).map(([t, m]) => [t, m.examples])),
        }
      : null,
    correlation: heads?.correlation ? { step, ...heads.correlation } : null,
    lr: num(last.lr),
    examplesPerSec: num(last.examplesPerSec),
    etaSeconds: 0,
    elapsedSeconds: num(last.elapsedSeconds),
    losses,
    data: { kind: 'synthetic', trainRows: 0, devRows: 0 },
    options: { importanceEvery: 0, probeRows: 0 },
    configJson: configText,
    vocabText: files.get('checkpoint/vocab.txt') ?? '',
    doLowerCase: true,
  };
}
