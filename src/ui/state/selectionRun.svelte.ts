import type { Experiment } from '../../engine/experiment/experimentSchema.ts';
import type { SelectionResult } from '../../engine/selection/selectionResult.ts';
import type { SelectionProgress, SelectionRequest } from '../../../workers/trainer/types.ts';
import { errorMessage } from '../clients/modelClient.ts';
import { runSelection, stopSelection } from '../clients/selectionClient.ts';
import type { TrainerClient } from '../clients/trainerClient.ts';
import type { JobList } from './jobs.svelte.ts';
import { selectionInputs, type SelectionForm, type SelectionInputs } from './selectionForm.ts';

/** Log lines kept on the page (a long GradTS run evaluates many times). */
const MAX_LINES = 400;

export type SelectionStatus = 'idle' | 'running' | 'done' | 'failed' | 'stopped';

/** What the run needs from the workbench: the worker, the job bar and the experiment's model and data. */
export interface SelectionHost {
  trainer: TrainerClient;
  jobs: JobList;
  readonly busy: boolean;
  readonly offline: { what: string; reason: string } | null;
  runInputs(exp: Experiment): Promise<Pick<SelectionRequest, 'model' | 'data'> | null>;
}

/**
 * The Selection view's run: sends the form to the trainer worker, keeps its progress lines and the result.
 * Lives on the workbench so switching views does not lose a running selection.
 */
export class SelectionRun {
  /** The form as last edited (null until the Selection view first opens). */
  form = $state<SelectionForm | null>(null);
  status = $state<SelectionStatus>('idle');
  lines = $state<string[]>([]);
  /** The training in progress ("trial 2 step 12 / 40"). */
  current = $state('');
  result = $state.raw<SelectionResult | null>(null);
  inputs = $state.raw<SelectionInputs | null>(null);
  error = $state<string | null>(null);
  /** Selections started in this page (tells one run's end from the previous one's). */
  started = $state(0);
  /** Seconds from Run to result, as the page saw it (data loading included). */
  totalSeconds = $state(0);
  private stopping = false;

  constructor(private readonly host: SelectionHost) {}

  get running(): boolean {
    return this.status === 'running';
  }

  async start(form: SelectionForm, exp: Experiment): Promise<void> {
    if (this.running) return;
    this.error = null;
    let inputs: SelectionInputs;
    try {
      if (this.host.busy) throw new Error('a training run is in progress: stop it first (selection and training share the worker)');
      inputs = selectionInputs(form, exp);
    } catch (e) {
      this.error = errorMessage(e);
      return;
    }
    this.status = 'running';
    this.started++;
    this.stopping = false;
    this.result = null;
    this.inputs = inputs;
    this.lines = [];
    this.current = '';
    const started = performance.now();
    const { method, target } = inputs.selection;
    try {
      const source = await this.host.runInputs(inputs.experiment);
      if (!source) throw new Error(`could not load ${this.host.offline?.what ?? 'the model or the data'}: ${this.host.offline?.reason ?? 'unknown reason'}`);
      this.result = await this.host.jobs.run(
        `Selection ${method} for ${target}`,
        (job) =>
          runSelection(this.host.trainer, { ...inputs, ...source }, (p) => {
            this.onProgress(p);
            this.host.jobs.update(job.id, { detail: this.current, progress: p.totalSteps ? (p.step ?? 0) / p.totalSteps : null });
          }),
        () => this.stop(),
      );
      this.status = 'done';
    } catch (e) {
      this.status = this.stopping ? 'stopped' : 'failed';
      if (!this.stopping) this.error = errorMessage(e);
    } finally {
      this.totalSeconds = (performance.now() - started) / 1000;
      this.current = '';
    }
  }

  stop(): void {
    if (!this.running) return;
    this.stopping = true;
    this.current = 'stopping after the current step…';
    void stopSelection(this.host.trainer);
  }

  private onProgress(p: SelectionProgress): void {
    if (p.line) {
      const next = [...this.lines, `[${p.elapsedSeconds.toFixed(1)} s] ${p.line}`];
      this.lines = next.length > MAX_LINES ? next.slice(next.length - MAX_LINES) : next;
    }
    if (p.run && p.step !== undefined && p.totalSteps) this.current = `${p.run}: step ${p.step} / ${p.totalSteps}`;
  }
}
