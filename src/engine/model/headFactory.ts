import { ClassificationHead } from './heads/classificationHead.ts';
import type { LinearSnapshot } from './heads/linearLayer.ts';
import { RankingHead } from './heads/rankingHead.ts';
import { RegressionHead } from './heads/regressionHead.ts';
import { SanHead } from './heads/sanHead.ts';
import type { HeadSnapshot, TaskHead } from './heads/taskHead.ts';
import type { TaskSpec } from './taskSpec.ts';

export type HeadChoice = 'linear' | 'san';

/** Fresh weights from a seed, or saved weights from a `heads.json` / train-state snapshot. */
export type HeadInit = { seed: number } | { snapshot: HeadSnapshot };

function savedLayer(task: string, snap: HeadSnapshot, layer: string): LinearSnapshot {
  const l = snap.layers[layer];
  if (!l || Array.isArray(l) || !('W' in l))
    throw new Error(`heads: ${task} snapshot has no linear layer "${layer}" (layers: ${Object.keys(snap.layers).join(', ')})`);
  return l;
}

/**
 * One head per task from its type (MT-DNN §1.4): classification → linear softmax layer, regression → one linear
 * output, ranking → one score per candidate. `choice === 'san'` gives MT-DNN's SAN answer module (classification
 * only; ranking always stays linear, Taskscope decision 2).
 */
export function createTaskHead(spec: TaskSpec, hiddenSize: number, init: HeadInit, choice: HeadChoice = 'linear'): TaskHead {
  if ('snapshot' in init) {
    const s = init.snapshot;
    const expectKind = choice === 'san' ? 'san' : spec.type;
    if (s.task !== spec.name) throw new Error(`heads: snapshot is for task ${s.task}, expected ${spec.name}`);
    if (s.kind !== expectKind) throw new Error(`heads: ${spec.name} snapshot is a ${s.kind} head, expected ${expectKind}`);
    if (s.numLabels !== spec.numLabels) throw new Error(`heads: ${spec.name} snapshot has ${s.numLabels} outputs, expected ${spec.numLabels}`);
  }
  if (choice === 'san') {
    if (spec.type !== 'classification')
      throw new Error(`heads: ${spec.name} is a ${spec.type} task; the SAN answer module is for classification only (use head "linear")`);
    return 'snapshot' in init
      ? SanHead.fromSnapshot(init.snapshot, hiddenSize)
      : new SanHead(spec.name, hiddenSize, spec.numLabels, spec.dropout, {}, { seed: init.seed });
  }
  const saved = (layer: string) => ('snapshot' in init ? savedLayer(spec.name, init.snapshot, layer) : { seed: init.seed });
  switch (spec.type) {
    case 'classification':
      return new ClassificationHead(spec.name, hiddenSize, spec.numLabels, spec.dropout, saved('classifier'));
    case 'regression':
      return new RegressionHead(spec.name, hiddenSize, spec.dropout, saved('regressor'));
    case 'ranking':
      return new RankingHead(spec.name, hiddenSize, spec.dropout, 2, saved('ranker'));
    default:
      throw new Error(`heads: unknown task type ${String((spec as TaskSpec).type)} for ${(spec as TaskSpec).name}`);
  }
}
