import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import 'fake-indexeddb/auto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { sharedDir } from '../helpers/shared.ts';
import { useBackend } from '../helpers/nodeBackends.ts';
import { tinyExperiment, tinyTrainer, toySplits, disposeTrainersAfterEach } from '../helpers/tinyTraining.ts';
import { BatchReader } from '../../src/engine/data/batchReader.ts';
import { dirSource, writeFolder } from '../../src/engine/platform/node/nodeSource.ts';
import { loadBertCheckpoint } from '../../src/engine/checkpoint/hfFolder.ts';
import { parseExperiment } from '../../src/engine/experiment/experimentSchema.ts';
import { batchToTensors } from '../../src/engine/train/batchTensors.ts';
import { exportCheckpointFiles, parseHeadsFile } from '../../src/engine/train/exportCheckpoint.ts';
import { FolderTrainStateStore } from '../../src/engine/platform/node/folderTrainStateStore.ts';
import { IdbTrainStateStore } from '../../src/engine/platform/browser/idbTrainStateStore.ts';
import { createTaskHead } from '../../src/engine/model/headFactory.ts';
import { decodeTrainState, encodeTrainState, type StoredTrainState } from '../../src/engine/train/trainState.ts';
import type { Trainer } from '../../src/engine/train/trainer.ts';

const track = disposeTrainersAfterEach();
let tmp: string;
beforeAll(async () => {
  await useBackend('cpu');
  tmp = await mkdtemp(join(tmpdir(), 'taskscope-trainer-'));
});
afterAll(() => rm(tmp, { recursive: true, force: true }));

const exp = tinyExperiment({ epochs: 1 });
const data = toySplits(16);

async function stateAfter(steps: number): Promise<{ t: Trainer; stored: StoredTrainState }> {
  const t = track(tinyTrainer(exp, data));
  for (let i = 0; i < steps; i++) await t.trainStep();
  return { t, stored: encodeTrainState(await t.getState()) };
}

describe('train state stores', () => {
  it('a folder store round-trips the exact bytes and refuses an older-layout state whose two files are from different steps', async () => {
    const { stored } = await stateAfter(2);
    const store = new FolderTrainStateStore(join(tmp, 'state'));
    expect(await store.load()).toBeNull();
    await store.save(stored, 2);
    const back = (await store.load())!;
    expect(back.json).toBe(stored.json);
    expect(Buffer.from(back.tensors).equals(Buffer.from(stored.tensors))).toBe(true);
    const s = decodeTrainState(back, store.describe());
    expect(s.meta.step).toBe(2);
    expect(s.optimizer.slots.length).toBe(2 * s.model.length); // Adamax: exp_avg + exp_inf per parameter

    // The older layout (state.json + state.safetensors in the folder itself) is still read, and still checked.
    const { stored: older } = await stateAfter(1);
    const legacy = new FolderTrainStateStore(join(tmp, 'legacy-state'));
    await mkdir(legacy.dir, { recursive: true });
    await writeFile(join(legacy.dir, 'state.json'), stored.json);
    await writeFile(join(legacy.dir, 'state.safetensors'), older.tensors);
    await expect(legacy.load().then((x) => decodeTrainState(x!, legacy.describe()))).rejects.toThrow(
      `${legacy.describe()}: the tensors are from step 1 but the JSON is from step 2 (a save was interrupted)`,
    );
  });

  it('an IndexedDB store (fake-indexeddb) keeps one state per run and restores a trainer from it', async () => {
    const { t, stored } = await stateAfter(3);
    const store = await IdbTrainStateStore.open('run-a', 'taskscope-runs-test');
    expect(await store.load()).toBeNull();
    await store.save(stored, 3);
    const fresh = track(tinyTrainer(exp, data, { store }));
    expect(await fresh.restoreFromStore()).toBe(true);
    await Promise.all([fresh.trainStep(), t.trainStep()]);
    const [a, b] = [await fresh.getState(), await t.getState()];
    for (let i = 0; i < a.model.length; i++) expect(a.model[i].data).toEqual(b.model[i].data);
    store.close();
  });
});

describe('evaluation', () => {
  it('dev metrics are dataset-level and match metrics computed here from one full-batch forward pass', async () => {
    const t = track(tinyTrainer(exp, data));
    for (let i = 0; i < 4; i++) await t.trainStep();
    const r = await t.evaluate(); // evalBatchSize 16 over 32 dev rows: two batches per task
    const full = (task: string) => {
      const split = data[task].dev!;
      const slot = t.model.slot(task);
      const b = new BatchReader([split], { batchSize: split.rows, seed: 0, shuffle: false, bucketBatches: 1 }).next();
      return tf.tidy(() => {
        const x = batchToTensors(b, slot.spec.type, slot.spec.numLabels);
        return { out: Array.from(t.model.forwardTask(task, x, { training: false }).output.dataSync()), labels: Array.from(b.labels) };
      });
    };
    const rte = full('RTE');
    const preds = rte.labels.map((_, i) => (rte.out[2 * i + 1] > rte.out[2 * i] ? 1 : 0));
    const acc = preds.filter((p, i) => p === rte.labels[i]).length / preds.length;
    const sts = full('STS-B');
    const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
    const corr = (x: number[], y: number[]) => {
      const mx = mean(x),
        my = mean(y);
      let sxy = 0,
        sxx = 0,
        syy = 0;
      x.forEach((_, i) => {
        sxy += (x[i] - mx) * (y[i] - my);
        sxx += (x[i] - mx) ** 2;
        syy += (y[i] - my) ** 2;
      });
      return sxy / Math.sqrt(sxx * syy);
    };
    const ranks = (v: number[]) => v.map((x) => v.filter((y) => y < x).length + (v.filter((y) => y === x).length + 1) / 2);
    const pearson = corr(sts.out, sts.labels);
    const spearman = corr(ranks(sts.out), ranks(sts.labels));
    const [er, es] = r.tasks;
    expect(er.task).toBe('RTE');
    expect(er.metrics.acc).toBeCloseTo(acc, 12);
    expect(er.score).toBeCloseTo(acc, 12);
    expect(es.metrics.pearson).toBeCloseTo(pearson, 5);
    expect(es.metrics.spearman).toBeCloseTo(spearman, 5);
    expect(r.glueScore).toBeCloseTo((acc + (pearson + spearman) / 2) / 2, 5);
    expect(Math.abs(pearson)).toBeGreaterThan(0.05); // not a degenerate constant prediction
  });
});

describe('checkpoint export', () => {
  it('writes an HF folder that loads back (and in refbert), with heads.json and experiment.json', async () => {
    const t = track(tinyTrainer(exp, data));
    for (let i = 0; i < 2; i++) await t.trainStep();
    const vocabText = ['[PAD]', '[unused0]', '[CLS]', '[SEP]', '[UNK]', ...Array.from({ length: 35 }, (_, i) => `w${i}`)].join('\n') + '\n';
    const files = await exportCheckpointFiles(t.model, { experiment: exp, vocabText, doLowerCase: true, metrics: { glue: 1 } });
    expect([...files.keys()].sort()).toEqual([
      'config.json',
      'experiment.json',
      'heads.json',
      'metrics.json',
      'model.safetensors',
      'tokenizer_config.json',
      'vocab.txt',
    ]);
    const dir = join(tmp, 'export');
    await writeFolder(dir, files);

    const ckpt = await loadBertCheckpoint(dirSource(dir));
    const mine = t.model.encoder.toNamedTensors();
    expect(ckpt.tensors.size).toBe(mine.length);
    for (const m of mine) expect(ckpt.tensors.get(m.name)!.data, m.name).toEqual(m.data);
    expect(parseExperiment(JSON.parse(await readFile(join(dir, 'experiment.json'), 'utf8')))).toEqual(exp);

    // The heads come back with the same weights: same outputs on the same features.
    const heads = parseHeadsFile(await readFile(join(dir, 'heads.json'), 'utf8'));
    expect(heads.map((h) => `${h.task}:${h.kind}`)).toEqual(['RTE:classification', 'STS-B:regression']);
    const feats = tf.tidy(() => tf.randomNormal([3, 16], 0, 1, 'float32', 5)) as tf.Tensor2D;
    for (const h of heads) {
      const slot = t.model.slot(h.task);
      const copy = createTaskHead(slot.spec, 16, { snapshot: h });
      const f = { pooled: feats, sequence: feats as unknown as tf.Tensor3D, tokenTypeIds: feats, attentionMask: feats };
      const [a, b] = tf.tidy(() => [slot.head.forward(f, { training: false }).dataSync(), copy.forward(f, { training: false }).dataSync()]);
      expect(Array.from(b)).toEqual(Array.from(a));
      copy.dispose();
    }
    feats.dispose();

    // refbert (the float64 reference that mirrors BertModel.from_pretrained's names) loads it: same pooled output.
    const ids = [[2, 7, 9, 3, 11, 3]];
    const pooled = tf.tidy(() => {
      const x = {
        inputIds: tf.tensor2d(ids, undefined, 'int32'),
        tokenTypeIds: tf.tensor2d([[0, 0, 0, 0, 1, 1]], undefined, 'int32'),
        attentionMask: tf.ones([1, 6], 'int32') as tf.Tensor2D,
      };
      return Array.from(t.model.encoder.forward(x).pooled.dataSync());
    });
    const py = `import sys,json; sys.path.insert(0, ${JSON.stringify(resolve(sharedDir, 'tools/refbert'))}); import refbert, numpy as np
cfg, P = refbert.load_checkpoint(${JSON.stringify(dir)})
print(json.dumps(refbert.forward(P, cfg, ${JSON.stringify(ids)}, [[0,0,0,0,1,1]], [[1]*6])["pooled"][0].tolist()))`;
    const ref = JSON.parse(execFileSync('python3', ['-c', py]).toString()) as number[];
    expect(Math.max(...ref.map((v, i) => Math.abs(v - pooled[i])))).toBeLessThan(1e-5);
  });
});
