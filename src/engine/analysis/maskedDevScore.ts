import * as tf from '@tensorflow/tfjs';
import { BatchReader } from '../data/batchReader.ts';
import type { LoadedSplit } from '../data/shardReader.ts';
import type { MetricName } from '../metrics/index.ts';
import { batchToTensors, disposeBatch } from '../train/batchTensors.ts';
import { taskMetrics } from '../train/evaluate.ts';
import type { MultiTaskModel } from '../model/multiTaskModel.ts';
import type { MaskEvaluator } from './pruningCurve.ts';

/**
 * A pruning-curve evaluator on real data: the task's dev metric (dataset-level, as the trainer's evaluation)
 * with the given heads masked. `metric` defaults to the task's GLUE score (mean of its metrics; MCC for CoLA).
 */
export function maskedDevEvaluator(
  model: MultiTaskModel,
  task: string,
  dev: LoadedSplit,
  opts: { metric?: MetricName | 'score'; batchSize?: number } = {},
): MaskEvaluator {
  const spec = model.slot(task).spec;
  const head = model.head(task);
  const metric = opts.metric ?? 'score';
  if (metric !== 'score' && !spec.metrics.includes(metric)) throw new Error(`pruning: ${task} has no metric ${metric} (it has ${spec.metrics.join(', ')})`);
  if (dev.rows === 0 || Number.isNaN(dev.labels[0])) throw new Error(`pruning: ${task}/${dev.split} has no labelled rows`);
  const width = spec.type === 'classification' ? spec.numLabels : 1;
  return async (headMask) => {
    const mask = tf.tensor2d(headMask);
    try {
      const reader = new BatchReader([dev], { batchSize: opts.batchSize ?? 32, seed: 0, shuffle: false, bucketBatches: 1 });
      const predictions = new Float32Array(dev.rows);
      const scores = new Float32Array(dev.rows * width);
      let row = 0;
      for (const b of reader.restOfEpoch()) {
        const outs = tf.tidy(() => {
          const t = batchToTensors(b, spec.type, spec.numLabels);
          const { output } = model.forwardTask(task, t, { training: false, headMask: mask });
          const r = [head.predict(output), spec.type === 'classification' ? tf.softmax(output) : tf.reshape(output, [-1])];
          disposeBatch(t);
          return r;
        });
        const [p, s] = await Promise.all(outs.map((x) => x.data()));
        tf.dispose(outs);
        predictions.set(p as Float32Array, row);
        scores.set(s as Float32Array, row * width);
        row += b.batchSize;
      }
      const ev = taskMetrics(spec, { task, uids: dev.uids, predictions, scores, labels: dev.labels, loss: NaN });
      return metric === 'score' ? ev.score : ev.metrics[metric]!;
    } finally {
      mask.dispose();
    }
  };
}
