import { strFromU8, unzipSync } from 'fflate';
import { beforeAll, describe, expect, it } from 'vitest';
import type { SplitName } from '../../datasets/types.ts';
import { syntheticVocabText } from '../../src/engine/synthetic/syntheticTasks.ts';
import { buildEncoder } from '../../src/engine/model/modelFactory.ts';
import { parsePredictionsJsonl, runPipeline, type PipelineEnv } from '../../src/engine/train/pipeline.ts';
import { parsePipelineConfig } from '../../src/engine/train/pipelineConfig.ts';
import { MemoryRunStorage, readText } from '../../src/engine/train/runStorage.ts';
import { useBackend } from '../helpers/nodeBackends.ts';
import { disposeTrainersAfterEach, tinyExperiment, tinyTrainer, TINY_VOCAB, toyRows } from '../helpers/tinyTraining.ts';
import { memorySplit } from '../../src/engine/train/memorySplit.ts';
import { splitThresholdHoldout } from '../../src/engine/train/trainSubset.ts';
import { parseExperiment } from '../../src/engine/experiment/experimentSchema.ts';
import { chooseDecisionThreshold, positiveProbs, predictSplit } from '../../src/engine/train/evaluate.ts';
import { f1Binary, accuracy } from '../../src/engine/metrics/index.ts';
import { thresholdPredictions } from '../../src/engine/metrics/f1Threshold.ts';
import { metricRows } from '../../src/ui/state/results.ts';

const track = disposeTrainersAfterEach();

beforeAll(async () => {
  await useBackend('cpu');
});

const mrpc = (split: 'train' | 'dev', n: number, seed: number) => memorySplit('MRPC', split, toyRows('pair', n, seed), { type: 'classification' });

describe('thresholdHoldout: an F1 decision threshold chosen on held-out training rows', () => {
  it('splits the rows off by seed, disjoint and complete, each part in file order', () => {
    const split = mrpc('train', 40, 1);
    const a = splitThresholdHoldout(split, { name: 'MRPC', thresholdHoldout: 0.25 }, 7);
    const b = splitThresholdHoldout(split, { name: 'MRPC', thresholdHoldout: 0.25 }, 7);
    const c = splitThresholdHoldout(split, { name: 'MRPC', thresholdHoldout: 0.25 }, 8);
    expect(a.holdout!.rows).toBe(10);
    expect(a.train.rows).toBe(30);
    expect(a.holdout!.uids).toEqual(b.holdout!.uids);
    expect(a.holdout!.uids).not.toEqual(c.holdout!.uids);
    const order = (uids: string[]) => uids.map((u) => Number(u.slice(1)));
    expect([...order(a.train.uids), ...order(a.holdout!.uids)].sort((x, y) => x - y)).toEqual(Array.from({ length: 40 }, (_, i) => i));
    expect(order(a.holdout!.uids)).toEqual([...order(a.holdout!.uids)].sort((x, y) => x - y));
    expect(splitThresholdHoldout(split, { name: 'MRPC' }, 7).train).toBe(split);
    expect(() => splitThresholdHoldout(mrpc('train', 3, 1), { name: 'MRPC', thresholdHoldout: 0.1 }, 7)).toThrow(
      'MRPC: thresholdHoldout 0.1 of 3 training rows leaves 0 for the holdout and 3 for training; both need at least one',
    );
  });

  it('is accepted only for binary tasks scored by F1, and left out of configs that do not set it', () => {
    expect(() => parseExperiment({ tasks: [{ name: 'SST-2', thresholdHoldout: 0.1 }] }, 'exp.json')).toThrow(
      'exp.json: tasks.0.thresholdHoldout: SST-2 is not a binary task scored by F1 (only those have an F1 decision threshold)',
    );
    expect(() => parseExperiment({ tasks: [{ name: 'MRPC', thresholdHoldout: 0.6 }] }, 'exp.json')).toThrow(/tasks\.0\.thresholdHoldout/);
    expect(parseExperiment({ tasks: [{ name: 'QQP', thresholdHoldout: 0.1 }] }).tasks[0].thresholdHoldout).toBe(0.1);
    // Absent stays absent, so train states saved before the field existed still match on resume.
    expect('thresholdHoldout' in parseExperiment({ tasks: [{ name: 'MRPC' }] }).tasks[0]).toBe(false);
  });

  it('trains without the held-out rows and scores dev with the threshold, keeping the argmax figures beside it', async () => {
    const exp = tinyExperiment({ tasks: [{ name: 'MRPC', thresholdHoldout: 0.25 }], epochs: 2, batchSize: 8 });
    const train = mrpc('train', 64, 3);
    const dev = mrpc('dev', 48, 4);
    const t = track(tinyTrainer(exp, { MRPC: { train, dev } }));
    // 48 of 64 rows are trained on: 6 batches of 8 per epoch.
    expect(t.epochLength).toBe(6);
    expect(t.thresholdHoldoutRows).toEqual({ MRPC: 16 });
    await t.run();
    const ev = t.evaluation!.tasks[0];
    const d = ev.decision!;
    expect(d.holdoutRows).toBe(16);
    // The same threshold, recomputed from the holdout the trainer used, and dev scored with it by hand.
    const spec = t.model.slot('MRPC').spec;
    const holdout = splitThresholdHoldout(train, exp.tasks[0], exp.seed).holdout!;
    expect(await chooseDecisionThreshold(t.model, spec, holdout, 16)).toEqual({ threshold: d.threshold, holdoutRows: 16, holdoutF1: d.holdoutF1 });
    const p = await predictSplit(t.model, spec, dev, 16);
    const preds = thresholdPredictions(positiveProbs(spec, p), d.threshold);
    expect(ev.metrics.f1).toBeCloseTo(f1Binary(preds, p.labels), 12);
    expect(ev.metrics.acc).toBeCloseTo(accuracy(preds, p.labels), 12);
    expect(ev.score).toBeCloseTo((ev.metrics.f1! + ev.metrics.acc!) / 2, 12);
    expect(d.argmaxMetrics!.f1).toBeCloseTo(f1Binary(p.predictions, p.labels), 12);
    expect(d.argmaxMetrics!.acc).toBeCloseTo(accuracy(p.predictions, p.labels), 12);
  });
});

describe('thresholdHoldout in the MT-DNN pipeline', () => {
  it('fine-tuning chooses the threshold; evaluate, predict and the submission use it', async () => {
    const split = (name: SplitName) => {
      const n = name === 'train' ? 48 : name === 'dev' ? 24 : 10;
      const rows = toyRows('pair', n, name.length).map((r, i) => ({ ...r, uid: String(i), label: name === 'test' ? undefined : r.label }));
      return memorySplit('MRPC', name, rows, { type: 'classification' });
    };
    const storage = new MemoryRunStorage();
    const env: PipelineEnv = {
      storage,
      async initialModel(exp) {
        return { encoder: buildEncoder(exp, { vocabSize: TINY_VOCAB }), vocabText: syntheticVocabText(TINY_VOCAB - 5), doLowerCase: true };
      },
      async loadSplit(task, name) {
        return task === 'MRPC' ? split(name) : null;
      },
    };
    const cfg = parsePipelineConfig({
      mtl: {
        name: 'tiny',
        tasks: [{ name: 'MRPC' }],
        model: { kind: 'random', layers: 1, hidden: 16, heads: 2, intermediate: 32, vocab: 'synthetic' },
        optimizer: { kind: 'adamax', lr: 2e-3 },
        batchSize: 8,
        evalBatchSize: 16,
        epochs: 1,
        seed: 3,
        maxLength: 32,
      },
      finetune: { tasks: [{ name: 'MRPC', thresholdHoldout: 0.25 }], epochs: 2 },
      submit: { partial: true },
    });
    await runPipeline(cfg, env);
    const text = async (p: string) => JSON.parse((await readText(storage, p))!);
    const decision = (await text('finetune/MRPC/metrics.json')).tasks[0].decision;
    expect(decision.holdoutRows).toBe(12);
    const report = await text('evaluate/MRPC.json');
    expect(report.splits.dev.decision.threshold).toBe(decision.threshold);
    const dev = parsePredictionsJsonl((await readText(storage, 'evaluate/MRPC.dev.jsonl'))!, 'dev');
    const devLabels = split('dev').labels;
    dev.predictions.forEach((p, i) => expect(p).toBe(dev.scores[2 * i + 1] >= decision.threshold ? 1 : 0));
    expect(report.splits.dev.metrics.f1).toBeCloseTo(f1Binary(dev.predictions, devLabels), 12);
    const test = parsePredictionsJsonl((await readText(storage, 'predict/MRPC.test.jsonl'))!, 'test');
    test.predictions.forEach((p, i) => expect(p).toBe(test.scores[2 * i + 1] >= decision.threshold ? 1 : 0));
    // The threshold changes some class ids (8 of 10 here), so the checks above would catch argmax output.
    expect(test.predictions.filter((p, i) => p !== (test.scores[2 * i + 1] > test.scores[2 * i] ? 1 : 0)).length).toBeGreaterThan(0);
    const zip = unzipSync((await storage.read('submit/glue_submission.zip'))!);
    expect(strFromU8(zip['MRPC.tsv']).trim().split('\n').slice(1)).toEqual(test.uids.map((u, i) => `${u}\t${test.predictions[i]}`));

    // A damaged fine-tuning record stops the later stages with the file and field named; the model stays.
    const good = (await readText(storage, 'finetune/MRPC/metrics.json'))!;
    const model = await storage.read('finetune/MRPC/model/model.safetensors');
    await storage.write('finetune/MRPC/metrics.json', good.slice(0, 40));
    await expect(runPipeline(cfg, env, { from: 'evaluate' })).rejects.toThrow(`${storage.describe()}/finetune/MRPC/metrics.json: not valid JSON`);
    const bad = JSON.parse(good);
    bad.tasks[0].decision.threshold = 2;
    await storage.write('finetune/MRPC/metrics.json', JSON.stringify(bad));
    await expect(runPipeline(cfg, env, { from: 'evaluate' })).rejects.toThrow(
      `${storage.describe()}/finetune/MRPC/metrics.json: tasks[MRPC].decision.threshold must be a probability in [0, 1], got 2`,
    );
    expect(await storage.read('finetune/MRPC/model/model.safetensors')).toEqual(model);
  });
});

describe("the page's metric rows", () => {
  it('say how a thresholded metric was decided and what argmax scored; other rows carry no note', () => {
    const rows = metricRows({
      step: 10,
      epoch: 2,
      glueScore: 0.76,
      tasks: [
        {
          task: 'MRPC',
          rows: 408,
          loss: 0.6,
          metrics: { acc: 0.7157, f1: 0.8242 },
          score: 0.77,
          decision: { threshold: 0.2663, holdoutRows: 367, holdoutF1: 0.828, argmaxMetrics: { acc: 0.6936, f1: 0.7863 } },
        },
        { task: 'RTE', rows: 277, loss: 0.7, metrics: { acc: 0.52 }, score: 0.52 },
      ],
    });
    expect(rows).toEqual([
      { task: 'MRPC', metric: 'acc', value: 0.7157, note: 'threshold 0.266 from 367 held-out training rows; argmax 69.36' },
      { task: 'MRPC', metric: 'f1', value: 0.8242, note: 'threshold 0.266 from 367 held-out training rows; argmax 78.63' },
      { task: 'RTE', metric: 'acc', value: 0.52 },
    ]);
  });
});
