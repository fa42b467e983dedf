import { rankAuxiliaryTasks, taskCorrelationMatrix, type CorrelationMethod } from '../analysis/taskCorrelation.ts';
import type { HeadMatrix } from '../analysis/types.ts';
import type { ExperimentInput } from '../experiment/experimentSchema.ts';
import { runFastmtlSelection } from './fastmtl/fastmtlSelect.ts';
import { runGradtsFg } from './gradtsFineGrained.ts';
import { gradtsTaskImportance, type GradtsTaskImportance, type InstanceMatrices } from './gradtsMatrices.ts';
import { runGradtsTrial } from './gradtsTrial.ts';
import { runRandomSelection } from './randomSelect.ts';
import { stageExperiment, type ExperimentParser, type SelectionConfig, type Stage } from './selectionConfig.ts';
import { type ModelSize, type SelectionMethod, type SelectionResult } from './selectionResult.ts';
import { asSelectionTraining, trainOnSelection, trainOnTasks, withTasks, type SelectionEnv } from './trainRunner.ts';
import { getTask } from '../../../datasets/glueTasks.ts';
import { taskSpecFromRegistry } from '../model/taskSpec.ts';

/**
 * One auxiliary-task selection from an experiment file: the CLI's `select` and the page's Selection view call
 * this with the loaded data. Every training goes through the real trainer (`trainRunner.ts`).
 */

export interface SelectionRun {
  /** The user's experiment (without its `selection` section): model, data, target + candidate tasks. */
  base: ExperimentInput;
  selection: SelectionConfig;
  env: SelectionEnv;
  onProgress?: (message: string) => void;
  /** Validates each stage's experiment (default `parseExperiment`; the page passes its synthetic-aware wrapper). */
  parse?: ExperimentParser;
}

/** Where the GradTS matrices came from and what producing them cost. */
export interface ImportanceProvenance {
  source: 'given' | 'computed';
  correlationMethod: CorrelationMethod;
  matrices: Record<string, HeadMatrix>;
  wallSeconds: number;
  examplesProcessed: number;
  /** With selection.maskImportance: the mask measure of the same tuned models, and its own cost. */
  mask?: { matrices: Record<string, HeadMatrix>; wallSeconds: number; tunedDev: Record<string, Record<string, number>> };
}

function metricsOf(task: string, env: SelectionEnv) {
  return (env.specs?.[task] ?? taskSpecFromRegistry(getTask(task).name)).metrics;
}

class SelectionContext {
  readonly target: string;
  readonly candidates: string[];
  readonly method: SelectionMethod;
  private readonly computed = new Map<string, GradtsTaskImportance>();

  constructor(readonly run: SelectionRun) {
    const sel = run.selection;
    if (!sel.method) throw new Error('selection: no method given (gradts-trial, gradts-fg, fastmtl or random)');
    if (!sel.target) throw new Error('selection: no target task given');
    const names = run.base.tasks.map((t) => t.name);
    if (!names.includes(sel.target)) throw new Error(`selection: the target ${sel.target} is not one of the experiment's tasks (${names.join(', ')})`);
    this.method = sel.method;
    this.target = sel.target;
    this.candidates = names.filter((n) => n !== sel.target);
    if (this.candidates.length === 0) throw new Error(`selection: the experiment lists no candidate auxiliary task besides ${sel.target}`);
  }

  stage(stage: Stage) {
    return stageExperiment(this.run.base, this.run.selection, stage, this.run.parse);
  }

  progress(msg: string) {
    this.run.onProgress?.(msg);
  }

  /** GradTS matrices of a task (instance-level ones on request), computed once per task. */
  async importance(task: string, instances: boolean): Promise<GradtsTaskImportance> {
    const have = this.computed.get(task);
    if (have && (!instances || have.instances)) return have;
    // GradTS-fg needs the auxiliary tasks' instance matrices later: the same measurement gives them, so keep them.
    const keep = instances || this.method === 'gradts-fg';
    this.progress(`gradts: tuning ${task} alone, then measuring its head matrices`);
    const r = await gradtsTaskImportance(this.run.env, this.stage('tune'), task, {
      instances: keep,
      maxMeasureRows: this.run.selection.maxMeasureRows,
      mask: this.run.selection.maskImportance,
    });
    this.computed.set(task, r);
    return r;
  }

  /** Task-level matrices of the target and the candidates: given in the settings, or computed. */
  async taskMatrices(): Promise<ImportanceProvenance> {
    const method = this.run.selection.correlationMethod ?? 'kendall_tau_b';
    const tasks = [this.target, ...this.candidates];
    const given = this.run.selection.importance;
    if (given) {
      const missing = tasks.filter((t) => !given[t]);
      if (missing.length) throw new Error(`selection.importance: no matrix for ${missing.join(', ')}`);
      return {
        source: 'given',
        correlationMethod: method,
        matrices: Object.fromEntries(tasks.map((t) => [t, given[t]])),
        wallSeconds: 0,
        examplesProcessed: 0,
      };
    }
    let seconds = 0;
    let examples = 0;
    const matrices: Record<string, HeadMatrix> = {};
    const mask: NonNullable<ImportanceProvenance['mask']> = { matrices: {}, wallSeconds: 0, tunedDev: {} };
    for (const t of tasks) {
      const r = await this.importance(t, false);
      matrices[t] = r.taskMatrix;
      seconds += r.tuneSeconds + r.measureSeconds;
      examples += r.examplesProcessed;
      if (r.maskMatrix) {
        mask.matrices[t] = r.maskMatrix;
        mask.wallSeconds += r.maskSeconds ?? 0;
        if (r.tunedDev) mask.tunedDev[t] = r.tunedDev;
      }
    }
    return {
      source: 'computed',
      correlationMethod: method,
      matrices,
      wallSeconds: seconds,
      examplesProcessed: examples,
      ...(this.run.selection.maskImportance ? { mask } : {}),
    };
  }

  async gradtsTrial() {
    const sel = this.run.selection;
    const prov = await this.taskMatrices();
    const corr = taskCorrelationMatrix(prov.matrices, prov.correlationMethod);
    const trialExp = this.stage('trial');
    let size: ModelSize | undefined;
    const result = await runGradtsTrial({
      target: this.target,
      correlations: rankAuxiliaryTasks(corr, this.target),
      correlationMethod: prov.correlationMethod,
      metrics: metricsOf(this.target, this.run.env),
      rule: sel.clean ? 'clean' : 'faithful',
      maxTrials: sel.maxTrials,
      runTrial: async (tasks) => {
        this.progress(`gradts-trial: trial ${tasks.length - 1} on ${tasks.join(', ')}`);
        const o = await trainOnTasks(this.run.env, { experiment: withTasks(trialExp, tasks), target: this.target, label: `trial ${tasks.length - 1}` });
        size = o.modelSize;
        return { epochs: o.epochs, wallSeconds: o.wallSeconds, examplesProcessed: o.examplesProcessed };
      },
      onTrial: (t) =>
        this.progress(
          `gradts-trial: trial ${t.k} best ${t.score.toFixed(4)}, ${t.compared.metric} ${t.compared.value.toFixed(4)} vs ${t.compared.reference.toFixed(4)} → ${t.continue ? 'continue' : 'stop'}`,
        ),
    });
    result.model = size;
    result.wallSeconds += prov.wallSeconds;
    result.examplesProcessed += prov.examplesProcessed;
    return { ...result, reasons: { ...result.reasons, importance: prov, correlationMatrix: corr } };
  }

  async gradtsFg() {
    const sel = this.run.selection;
    let auxTasks = sel.trialSelection;
    let trialCost = { wallSeconds: 0, examplesProcessed: 0 };
    let trial: Awaited<ReturnType<SelectionContext['gradtsTrial']>> | null = null;
    if (!auxTasks) {
      trial = await this.gradtsTrial();
      auxTasks = trial.chosen;
      trialCost = { wallSeconds: trial.wallSeconds, examplesProcessed: trial.examplesProcessed };
    }
    const unknown = auxTasks.filter((t) => !this.candidates.includes(t));
    if (unknown.length)
      throw new Error(
        `selection.trialSelection: ${unknown.join(', ')} ${unknown.length === 1 ? 'is' : 'are'} not among the candidates (${this.candidates.join(', ')})`,
      );
    // With the trial run first, every matrix was computed (instances kept) and paid for inside its cost.
    let seconds = trialCost.wallSeconds;
    let examples = trialCost.examplesProcessed;
    const pay = (r: GradtsTaskImportance) => {
      if (trial) return;
      seconds += r.tuneSeconds + r.measureSeconds;
      examples += r.examplesProcessed;
    };
    let targetMatrix = sel.importance?.[this.target];
    if (!targetMatrix) {
      const r = await this.importance(this.target, false);
      targetMatrix = r.taskMatrix;
      pay(r);
    }
    const instances: Record<string, InstanceMatrices> = {};
    for (const t of auxTasks) {
      const r = await this.importance(t, true);
      instances[t] = r.instances!;
      pay(r);
    }
    const trainExp = this.stage('trial');
    const result = await runGradtsFg({
      target: this.target,
      auxTasks,
      targetMatrix,
      instances,
      threshold: sel.threshold,
      method: sel.correlationMethod,
      priorCost: { wallSeconds: seconds, examplesProcessed: examples },
      model: trial?.model,
      train:
        sel.train === false
          ? undefined
          : async (rows) => {
              this.progress(
                `gradts-fg: training ${this.target} with ${Object.entries(rows)
                  .map(([t, r]) => `${t} ${r.length}`)
                  .join(', ')}`,
              );
              return asSelectionTraining(await trainOnSelection(this.run.env, trainExp, this.target, rows, 'gradts-fg training'));
            },
    });
    return { ...result, reasons: { ...result.reasons, trial: trial ? trial.reasons : null } };
  }

  fastmtl() {
    const sel = this.run.selection;
    const lossKind = sel.lossKind ?? 'bce';
    this.progress(`fastmtl: TD-MTDNN (${lossKind}) on ${[this.target, ...this.candidates].join(', ')}`);
    return runFastmtlSelection(this.run.env, {
      target: this.target,
      tasks: this.run.base.tasks.map((t) => t.name),
      num: sel.num,
      tdPerTask: sel.tdPerTask,
      tdSeed: sel.tdSeed,
      lossKind,
      scoring: sel.clean && lossKind === 'ce' ? 'softmax' : 'sigmoid',
      tdExperiment: this.stage('td'),
      trainExperiment: sel.train === false ? undefined : this.stage('train'),
    });
  }

  random() {
    const sel = this.run.selection;
    return runRandomSelection(this.run.env, {
      target: this.target,
      tasks: this.run.base.tasks.map((t) => t.name),
      num: sel.num,
      seed: sel.seed ?? 0,
      tdSeed: sel.tdSeed,
      tdPerTask: sel.tdPerTask,
      trainExperiment: sel.train === false ? undefined : this.stage('train'),
    });
  }
}

export async function runSelection(run: SelectionRun): Promise<SelectionResult> {
  const ctx = new SelectionContext(run);
  switch (ctx.method) {
    case 'gradts-trial':
      return ctx.gradtsTrial();
    case 'gradts-fg':
      return ctx.gradtsFg();
    case 'fastmtl':
      return ctx.fastmtl();
    case 'random':
      return ctx.random();
  }
}
