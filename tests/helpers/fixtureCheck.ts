import * as tf from '@tensorflow/tfjs';
import type { BertEncoder } from '../../src/engine/model/bertEncoder.ts';
import { ClassificationHead } from '../../src/engine/model/heads/classificationHead.ts';
import { RegressionHead } from '../../src/engine/model/heads/regressionHead.ts';
import type { TaskHead } from '../../src/engine/model/heads/taskHead.ts';
import type { LinearSnapshot } from '../../src/engine/model/heads/linearLayer.ts';
import { gradtsImportance } from '../../src/engine/analysis/gradtsImportance.ts';
import { batchMeanLossMaskGrad, maskImportance } from '../../src/engine/analysis/headImportance.ts';
import { instanceToTaskCorrelation } from '../../src/engine/analysis/instanceCorrelation.ts';
import { headCorrelation } from '../../src/engine/analysis/taskCorrelation.ts';
import type { HeadMatrix, LabelledBatch } from '../../src/engine/analysis/types.ts';
import { fixtureBatch } from './fixtureBatch.ts';

/**
 * Recomputes every importance field of a refbert fixture (`minibatch.*`, tests/fixtures/README.md) with the
 * engine, on whatever backend is active. Pure engine code (no Node APIs), so the same check runs in Node
 * tests and in a browser page; the caller compares the result with the fixture.
 */

/** The fixture fields this check reads. */
export interface ImportanceFixture {
  config: { num_hidden_layers: number; num_attention_heads: number; hidden_size: number };
  examples: { id: string; input_ids: number[]; token_type_ids: number[]; attention_mask: number[] }[];
  classification_head: LinearSnapshot & { n_classes: number };
  regression_head: LinearSnapshot;
  minibatch: { example_ids: string[]; classification: { labels: number[] }; regression: { labels: number[] } };
}

export type FixtureTask = 'classification' | 'regression';

/** Field names and layouts as in the fixture. */
export interface TaskImportanceFields {
  per_example_loss: number[];
  loss_mean: number;
  per_example_mask_grads: number[][][];
  importance_raw: HeadMatrix;
  importance_normalized: HeadMatrix;
  batch_mean_loss_mask_grad: HeadMatrix;
  gradts_raw_per_example: number[][][];
  gradts_instance_normalized: number[][][];
  gradts_task_normalized: HeadMatrix;
}

export interface ImportanceFixtureResult {
  classification: TaskImportanceFields;
  regression: TaskImportanceFields;
  /** Regression is the main task and classification the auxiliary one, as in the fixture. */
  gradts_correlation: { task_level_kendall_tau_b: number; instance_level_kendall_tau_b: number[] };
}

/** The fixture's labelled mini-batch (examples picked by `minibatch.example_ids`) for one task. */
export function fixtureMinibatch(fx: ImportanceFixture, task: FixtureTask): LabelledBatch {
  const rows = fx.minibatch.example_ids.map((id) => {
    const e = fx.examples.find((x) => x.id === id);
    if (!e) throw new Error(`fixture: minibatch example '${id}' is not in examples`);
    return e;
  });
  const labels = fx.minibatch[task].labels;
  return {
    ...fixtureBatch(rows),
    labels: task === 'classification' ? tf.tensor1d(labels, 'int32') : tf.tensor1d(labels, 'float32'),
  };
}

/** The fixture's heads (dropout 0: the reference has none). */
export function fixtureHead(fx: ImportanceFixture, task: FixtureTask): TaskHead {
  const H = fx.config.hidden_size;
  return task === 'classification'
    ? new ClassificationHead('classification', H, fx.classification_head.n_classes, 0, fx.classification_head)
    : new RegressionHead('regression', H, 0, fx.regression_head);
}

async function taskFields(model: BertEncoder, fx: ImportanceFixture, task: FixtureTask): Promise<TaskImportanceFields> {
  const head = fixtureHead(fx, task);
  const batch = fixtureMinibatch(fx, task);
  try {
    const mask = await maskImportance(model, head, [batch], { perExample: true });
    const meanGrad = await batchMeanLossMaskGrad(model, head, batch);
    // Dropout off: the reference has none, and an active-but-zero rate would only add work.
    const gt = await gradtsImportance(model, head, [batch], { training: false });
    const losses = mask.perExampleLoss!;
    return {
      per_example_loss: losses,
      loss_mean: losses.reduce((s, v) => s + v, 0) / losses.length,
      per_example_mask_grads: mask.perExample!,
      importance_raw: mask.raw,
      importance_normalized: mask.normalized,
      batch_mean_loss_mask_grad: meanGrad,
      gradts_raw_per_example: gt.rawPerExample,
      gradts_instance_normalized: gt.instanceNormalized,
      gradts_task_normalized: gt.taskNormalized,
    };
  } finally {
    head.dispose();
    tf.dispose([batch.inputIds, batch.tokenTypeIds, batch.attentionMask, batch.labels]);
  }
}

/** Every `minibatch` importance field of the fixture, computed by the engine with `model` (the fixture's checkpoint). */
export async function computeImportanceFixture(fx: ImportanceFixture, model: BertEncoder): Promise<ImportanceFixtureResult> {
  const L = fx.config.num_hidden_layers,
    A = fx.config.num_attention_heads;
  if (model.numLayers !== L || model.numHeads !== A) {
    throw new Error(`computeImportanceFixture: model has ${model.numLayers}×${model.numHeads} heads, fixture ${L}×${A}`);
  }
  const classification = await taskFields(model, fx, 'classification');
  const regression = await taskFields(model, fx, 'regression');
  return {
    classification,
    regression,
    gradts_correlation: {
      task_level_kendall_tau_b: headCorrelation(regression.gradts_task_normalized, classification.gradts_task_normalized),
      instance_level_kendall_tau_b: instanceToTaskCorrelation(regression.gradts_task_normalized, classification.gradts_instance_normalized),
    },
  };
}
