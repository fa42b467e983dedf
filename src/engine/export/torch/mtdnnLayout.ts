import { getTask } from '../../../../datasets/glueTasks.ts';
import type { LoadedSplit } from '../../data/shardReader.ts';
import type { Experiment } from '../../experiment/experimentSchema.ts';
import { defaultTaskDropout } from '../../model/taskSpec.ts';
import { runTaskOrder } from '../../train/microBatchSchedule.ts';
import type { TaskSplits } from '../../train/trainer.ts';

/** The task's name in MT-DNN's task definitions (glue_task_def.yml: cola, mnli, mrpc, qnli, qqp, rte, sst, stsb, wnli). */
export function mtdnnTaskName(name: string): string {
  return name.toLowerCase().replace('-2', '').replace('-', '');
}

/** One split as the JSON lines MT-DNN's prepro_std.py writes for BERT: uid, label, token_id, type_id. */
function mtdnnRows(s: LoadedSplit, regression: boolean): string {
  const lines: string[] = [];
  for (let i = 0; i < s.rows; i++) {
    const n = s.lengths[i];
    const label = Number.isNaN(s.labels[i]) ? null : regression ? s.labels[i] : Math.round(s.labels[i]);
    const typeId = Array.from({ length: n }, (_, k) => (k < s.segmentA[i] ? 0 : 1));
    lines.push(JSON.stringify({ uid: s.uids[i], label, token_id: Array.from(s.ids.subarray(s.offsets[i], s.offsets[i] + n)), type_id: typeId }));
  }
  return lines.join('\n') + '\n';
}

/**
 * The experiment's tasks and data as the original MT-DNN code base (namisan/mt-dnn) reads them: `mtdnn/task_def.yml`
 * (data_format, enable_san, labels, metric_meta, loss, n_class, task_type, dropout_p per task) and
 * `mtdnn/<task>_{train,dev}.json` with Taskscope's token ids. What does not map: docs/torch-export.md.
 */
export function mtdnnLayoutFiles(exp: Experiment, data: Readonly<Record<string, TaskSplits>>): Map<string, string> {
  const files = new Map<string, string>();
  const yaml: string[] = [];
  for (const entry of runTaskOrder(exp)) {
    const def = getTask(entry.name);
    const d = data[entry.name];
    // MT-DNN's ranking format groups each question's candidates (PremiseAndMultiHypothesis); no GLUE task here is one.
    if (def.type === 'ranking') throw new Error(`mtdnn layout: ${def.name} is a ranking task, which has no MT-DNN layout here`);
    const name = mtdnnTaskName(def.name);
    const pair = Array.from({ length: d.train.rows }, (_, i) => d.train.segmentA[i] < d.train.lengths[i]).some(Boolean);
    const regression = def.type === 'regression';
    yaml.push(`${name}:`);
    yaml.push(`  data_format: ${pair ? 'PremiseAndOneHypothesis' : 'PremiseOnly'}`);
    yaml.push(`  dropout_p: ${entry.dropout ?? defaultTaskDropout(def.name)}`);
    yaml.push(`  enable_san: ${entry.head === 'san'}`);
    if (def.labels && !regression) yaml.push('  labels:', ...def.labels.map((l) => `  - ${JSON.stringify(l)}`));
    yaml.push('  metric_meta:', ...def.metrics.map((m) => `  - ${m}`));
    yaml.push(`  loss: ${regression ? 'MseCriterion' : 'CeCriterion'}`);
    yaml.push(`  n_class: ${regression ? 1 : def.labels!.length}`);
    yaml.push(`  task_type: ${regression ? 'Regression' : 'Classification'}`);
    files.set(`mtdnn/${name}_train.json`, mtdnnRows(d.train, regression));
    if (d.dev) files.set(`mtdnn/${name}_dev.json`, mtdnnRows(d.dev, regression));
  }
  files.set('mtdnn/task_def.yml', yaml.join('\n') + '\n');
  return files;
}
