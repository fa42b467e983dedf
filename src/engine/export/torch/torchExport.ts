import type { LoadedSplit } from '../../data/shardReader.ts';
import type { Experiment } from '../../experiment/experimentSchema.ts';
import { exportCheckpointFiles } from '../../train/exportCheckpoint.ts';
import type { MultiTaskModel } from '../../model/multiTaskModel.ts';
import { runTaskOrder } from '../../train/microBatchSchedule.ts';
import { SMART_DEFAULTS, smartOptionsFromExperiment, type SmartOptions } from '../../train/smart.ts';
import { Trainer, type TaskSplits } from '../../train/trainer.ts';
import { splitThresholdHoldout } from '../../train/trainSubset.ts';
import { planMicroBatches, type PlannedMicroBatch } from './batchPlan.ts';
import { findTask } from '../../../../datasets/glueTasks.ts';
import { mtdnnLayoutFiles } from './mtdnnLayout.ts';
import { torchExportReadme } from './readme.ts';

export const TORCH_EXPORT_FORMAT = 'taskscope-torch-export/1';

/** `export.json`: everything train.py needs that is not in experiment.json, resolved the way the trainer resolves it. */
export interface TorchExportSpec {
  format: typeof TORCH_EXPORT_FORMAT;
  name: string;
  seed: number;
  tasks: { name: string; type: string; head: string; numLabels: number; metrics: string[]; dropout: number }[];
  variant: { kind: string; palHeads: number; hiddenSizeAug: number };
  encoderDropout: number;
  padId: number;
  totalSteps: number;
  scheduleTotal: number;
  epochLength: number;
  gradAccumulation: number;
  globalClip: number;
  batchSize: number;
  evalBatchSize: number;
  evalEvery: number;
  optimizer: { kind: string; lr: number; beta1: number; beta2: number; eps: number; weightDecay: number; decayFilter: string; maxGradNorm: number };
  schedule: { kind: string; warmup: number };
  /** SMART's options as the trainer resolves them (its defaults for what the experiment does not set); null = off. */
  smart: (Required<SmartOptions> & { enabled: true }) | null;
}

export interface TorchExportInput {
  experiment: Experiment;
  /** The run's starting weights (fresh heads or a resumed run's), in run task order. */
  model: MultiTaskModel;
  /** Training rows (after trainFraction / maxTrainRows) and dev rows per task. */
  data: Readonly<Record<string, TaskSplits>>;
  vocabText: string;
  doLowerCase: boolean;
  /** The files of template/ (train.py, taskscope_torch/*.py) by path relative to it. */
  template: ReadonlyMap<string, string>;
}

function smartSpec(exp: Experiment): TorchExportSpec['smart'] {
  const options = smartOptionsFromExperiment(exp.smart);
  return options ? { enabled: true, ...SMART_DEFAULTS, ...options } : null;
}

interface ExportRow {
  uid: string;
  ids: number[];
  segmentA: number;
  label: number | null;
}

function splitRows(s: LoadedSplit): string {
  const lines: string[] = [];
  for (let i = 0; i < s.rows; i++) {
    const row: ExportRow = {
      uid: s.uids[i],
      ids: Array.from(s.ids.subarray(s.offsets[i], s.offsets[i] + s.lengths[i])),
      segmentA: s.segmentA[i],
      label: Number.isNaN(s.labels[i]) ? null : s.labels[i],
    };
    lines.push(JSON.stringify(row));
  }
  return lines.join('\n') + '\n';
}

/** Micro-batches written to schedule-check.jsonl: train.py generates the sequence itself and checks it starts with these. */
export const SCHEDULE_CHECK_LENGTH = 64;

function planLines(plan: PlannedMicroBatch[]): string {
  return plan.map(({ task, rows, weight }) => JSON.stringify({ task, rows, weight })).join('\n') + '\n';
}

/**
 * The files of a PyTorch export of one experiment (paths relative to the export folder): train.py and
 * taskscope_torch/ (the template), README.md, experiment.json, export.json, schedule-check.jsonl (the run's first
 * micro-batches, which train.py's own schedule must reproduce), data/<task>/{train,dev}.jsonl
 * (Taskscope's token ids) and init/ (the starting weights as an HF folder + heads.json + extension.safetensors).
 */
export async function torchExportFiles(input: TorchExportInput): Promise<Map<string, string | Uint8Array>> {
  const exp = input.experiment;
  const trainer = new Trainer({ experiment: exp, model: input.model, data: input.data });
  const totals = { totalSteps: trainer.totalSteps, scheduleTotal: trainer.scheduleTotal, epochLength: trainer.epochLength };
  trainer.dispose();
  const tasks = runTaskOrder(exp);
  // thresholdHoldout rows leave the training rows as the trainer leaves them; train.py chooses F1 thresholds on them.
  const parts = Object.fromEntries(tasks.map((t) => [t.name, splitThresholdHoldout(input.data[t.name].train, t, exp.seed)]));
  const train = Object.fromEntries(tasks.map((t) => [t.name, parts[t.name].train]));
  const check = planMicroBatches(exp, train, Math.min(SCHEDULE_CHECK_LENGTH, totals.totalSteps * exp.gradAccumulation));
  const padIds = new Set(tasks.map((t) => input.data[t.name].train.manifest.padId));
  if (padIds.size !== 1) throw new Error(`export-torch: the tasks' data use different [PAD] ids (${[...padIds].join(', ')})`);
  const o = exp.optimizer;
  const spec: TorchExportSpec = {
    format: TORCH_EXPORT_FORMAT,
    name: exp.name,
    seed: exp.seed,
    tasks: tasks.map((t) => {
      const s = input.model.slot(t.name).spec;
      return { name: t.name, type: s.type, head: t.head, numLabels: s.numLabels, metrics: s.metrics, dropout: s.dropout };
    }),
    variant: { kind: exp.variant.kind, palHeads: exp.variant.palHeads, hiddenSizeAug: exp.variant.hiddenSizeAug },
    encoderDropout: exp.encoderDropout,
    padId: [...padIds][0],
    ...totals,
    gradAccumulation: exp.gradAccumulation,
    globalClip: exp.globalClip,
    batchSize: exp.batchSize,
    evalBatchSize: exp.evalBatchSize,
    evalEvery: exp.evalEvery,
    // The trainer's reading of the options: torch Adam has no decoupled decay, so 'adam' ignores weightDecay.
    optimizer: {
      kind: o.kind,
      lr: o.lr,
      beta1: o.beta1,
      beta2: o.beta2,
      eps: o.eps,
      weightDecay: o.kind === 'adam' ? 0 : o.weightDecay,
      decayFilter: o.decayFilter,
      maxGradNorm: o.maxGradNorm,
    },
    schedule: { kind: exp.schedule.kind, warmup: exp.schedule.warmup },
    smart: smartSpec(exp),
  };
  const files = new Map<string, string | Uint8Array>();
  if (!input.template.has('train.py')) throw new Error('export-torch: the trainer template has no train.py');
  for (const [name, text] of input.template) files.set(name, text);
  files.set('experiment.json', `${JSON.stringify(exp, null, 2)}\n`);
  files.set('export.json', `${JSON.stringify(spec, null, 2)}\n`);
  files.set('schedule-check.jsonl', planLines(check));
  for (const t of tasks) {
    const d = input.data[t.name];
    files.set(`data/${t.name}/train.jsonl`, splitRows(parts[t.name].train));
    const holdout = parts[t.name].holdout;
    if (holdout) files.set(`data/${t.name}/holdout.jsonl`, splitRows(holdout));
    if (d.dev) files.set(`data/${t.name}/dev.jsonl`, splitRows(d.dev));
  }
  // The MT-DNN code base's layout describes GLUE tasks; generated (synthetic, planted) tasks have no place in it.
  if (tasks.every((t) => findTask(t.name))) {
    const mtdnn = mtdnnLayoutFiles(exp, Object.fromEntries(tasks.map((t) => [t.name, { ...input.data[t.name], train: parts[t.name].train }])));
    for (const [name, text] of mtdnn) files.set(name, text);
  }
  files.set('README.md', torchExportReadme(spec, check.length));
  const init = await exportCheckpointFiles(input.model, { experiment: exp, vocabText: input.vocabText, doLowerCase: input.doLowerCase });
  for (const [name, content] of init) files.set(`init/${name}`, content);
  return files;
}
