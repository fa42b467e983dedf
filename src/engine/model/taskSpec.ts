import { getTask } from '../../../datasets/glueTasks.ts';
import type { MetricName as RegistryMetric, TaskType } from '../../../datasets/types.ts';
import type { MetricName } from '../metrics/index.ts';

/**
 * What the trainer needs to know about a task: its type, output size and metrics. GLUE tasks come from the
 * registry; anything else (the synthetic demo tasks, a user's own task) can build one by hand.
 */
export interface TaskSpec {
  name: string;
  type: TaskType;
  /** Classes (classification) or 1 (regression, ranking). */
  numLabels: number;
  /** Engine metric names, computed on the dev set (docs/methods.md §1.10). */
  metrics: MetricName[];
  /** Task-specific dropout on the pooled output before the head (MT-DNN yml dropout_p). */
  dropout: number;
}

const METRIC_OF: Record<RegistryMetric, MetricName> = { ACC: 'acc', F1: 'f1', MCC: 'mcc', Pearson: 'pearson', Spearman: 'spearman' };

/** MT-DNN glue_task_def.yml dropout_p: CoLA 0.05, every other task the global --dropout_p 0.1 (docs/methods.md §1.1). */
export function defaultTaskDropout(name: string): number {
  return name === 'CoLA' ? 0.05 : 0.1;
}

export function taskSpecFromRegistry(name: string, dropout?: number): TaskSpec {
  const t = getTask(name);
  return {
    name: t.name,
    type: t.type,
    numLabels: t.labels ? t.labels.length : 1,
    metrics: t.metrics.map((m) => METRIC_OF[m]),
    dropout: dropout ?? defaultTaskDropout(t.name),
  };
}
