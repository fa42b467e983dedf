import * as tf from '@tensorflow/tfjs';
import { strFromU8, unzipSync } from 'fflate';
import { cpSync, mkdtempSync, mkdirSync, readFileSync, rmSync, unlinkSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SplitName, TaskName } from '../../datasets/types.ts';
import { runPipelineCli } from '../../src/cli/commands/pipeline.ts';
import { parseSafetensors } from '../../src/engine/checkpoint/safetensors.ts';
import { syntheticVocabText } from '../../src/engine/synthetic/syntheticTasks.ts';
import { parseSoftLabels } from '../../src/engine/train/distillation.ts';
import { memorySplit } from '../../src/engine/train/memorySplit.ts';
import { buildEncoder } from '../../src/engine/model/modelFactory.ts';
import { parsePredictionsJsonl, runPipeline, type PipelineEnv, type PipelineEvent } from '../../src/engine/train/pipeline.ts';
import { parsePipelineConfig } from '../../src/engine/train/pipelineConfig.ts';
import { MemoryRunStorage, readText } from '../../src/engine/train/runStorage.ts';
import { MemoryTrainStateStore } from '../../src/engine/train/trainState.ts';
import { toyRows, TINY_VOCAB } from '../helpers/tinyTraining.ts';
import { useBackend } from '../helpers/nodeBackends.ts';

/*
 * The MT-DNN pipeline end to end on two tiny tasks (RTE- and STS-B-shaped toy data, a 1-layer H 16 encoder,
 * 1 epoch per training run): every stage's files, the submission zip, and restarts.
 */

const TEST_ROWS = { RTE: 10, 'STS-B': 7 } as const;

const MTL = {
  name: 'tiny',
  tasks: [{ name: 'RTE' }, { name: 'STS-B' }],
  model: { kind: 'random', layers: 1, hidden: 16, heads: 2, intermediate: 32, vocab: 'synthetic' },
  optimizer: { kind: 'adamax', lr: 2e-3 },
  batchSize: 8,
  evalBatchSize: 16,
  epochs: 1,
  seed: 3,
  maxLength: 32,
};

let dir: string;
beforeAll(async () => {
  await useBackend('cpu');
  dir = mkdtempSync(join(tmpdir(), 'taskscope-pipeline-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('pipeline config', () => {
  it('inherits the mtl experiment, forces a linear head, and names bad fields', () => {
    const cfg = parsePipelineConfig({
      mtl: { ...MTL, tasks: [{ name: 'RTE', head: 'san', maxTrainRows: 64, dropout: 0.3 }, { name: 'STS-B' }] },
      finetune: { tasks: ['RTE', { name: 'STS-B', trainFraction: 0.5 }], epochs: 2, optimizer: { kind: 'radam' }, smart: { enabled: true } },
    });
    const ft = cfg.finetune.experiments.RTE;
    expect(ft.tasks).toEqual([{ name: 'RTE', head: 'linear', weight: 1, trainFraction: 1, maxTrainRows: 64, dropout: 0.3 }]);
    expect(cfg.finetune.experiments['STS-B'].tasks).toEqual([{ name: 'STS-B', head: 'linear', weight: 1, trainFraction: 0.5 }]);
    expect(ft.epochs).toBe(2);
    expect(ft.optimizer.kind).toBe('radam');
    expect(ft.smart.enabled).toBe(true);
    expect(ft.batchSize).toBe(8); // from mtl
    expect(ft.name).toBe('tiny/finetune/RTE');
    expect(cfg.submit).toEqual({ enabled: false, partial: false });
    expect(() => parsePipelineConfig({ mtl: MTL, finetune: { tasks: [] } }, 'p.json')).toThrow(
      'p.json: invalid pipeline config\n  finetune.tasks: at least one task to fine-tune',
    );
    expect(() => parsePipelineConfig({ mtl: MTL, finetune: { tasks: ['RTE', 'XYZ'] } }, 'p.json')).toThrow(/finetune\.tasks\.1/);
    expect(() => parsePipelineConfig({ mtl: MTL, finetune: { tasks: ['RTE'], optimizer: { lr: -1 } } }, 'p.json')).toThrow(
      /^p\.json finetune \(RTE\): invalid experiment config\n {2}optimizer\.lr/,
    );
    expect(() => parsePipelineConfig({ mtl: MTL, finetune: { tasks: ['RTE'], epoch: 2 } }, 'p.json')).toThrow(
      'p.json: finetune.epoch: not an experiment field',
    );
    expect(() => parsePipelineConfig({ mtl: MTL, finetune: { tasks: ['RTE'], model: { kind: 'random' } } }, 'p.json')).toThrow(
      "p.json: finetune.model: set by the pipeline (the stripped encoder, mtl's data, one linear-head task); it cannot be overridden",
    );
    expect(() => parsePipelineConfig({ finetune: { tasks: ['RTE'] } }, 'p.json')).toThrow(
      'p.json: invalid pipeline config\n  mtl: the multi-task experiment is missing',
    );
    expect(() => parsePipelineConfig({ mtl: MTL, finetune: { tasks: ['RTE', 'STS-B'] }, submit: true }, 'p.json')).toThrow(
      'p.json: submit: a full GLUE submission needs fine-tuned models for CoLA, SST-2, MRPC, QQP, MNLI, QNLI, WNLI, MNLI (for AX); add them to finetune.tasks or use "submit": {"partial": true}',
    );
    expect(() => parsePipelineConfig({ mtl: MTL, finetune: { tasks: ['RTE'], kd: { teachers: { 'STS-B': ['x'] } } } }, 'p.json')).toThrow(
      'p.json: finetune.kd.teachers.STS-B: STS-B is not a fine-tuned task (RTE)',
    );
  });
});

/** GLUE-layout TSVs of the toy data (RTE: index, sentence1, sentence2, label; STS-B: 10 columns with score). */
function writeGlueFolder(root: string) {
  const words = (ids: readonly number[]) => ids.map((i) => `w${i - 5}`).join(' ');
  const rte = (n: number, seed: number, labelled: boolean) => {
    const rows = toyRows('pair', n, seed).map((r, i) => {
      const a = r.ids.slice(1, r.segmentA! - 1);
      const b = r.ids.slice(r.segmentA!, -1);
      return [String(i), words(a), words(b), ...(labelled ? [r.label ? 'entailment' : 'not_entailment'] : [])].join('\t');
    });
    return `${['index', 'sentence1', 'sentence2', ...(labelled ? ['label'] : [])].join('\t')}\n${rows.join('\n')}\n`;
  };
  const sts = (n: number, seed: number, labelled: boolean) => {
    const rows = toyRows('score', n, seed).map((r, i) => {
      const s = words(r.ids.slice(1, -1));
      return [String(i), 'main-captions', 'MSRvid', '2012test', String(i), 'none', 'none', s, s, ...(labelled ? [r.label!.toFixed(3)] : [])].join('\t');
    });
    const head = ['index', 'genre', 'filename', 'year', 'old_index', 'source1', 'source2', 'sentence1', 'sentence2', ...(labelled ? ['score'] : [])];
    return `${head.join('\t')}\n${rows.join('\n')}\n`;
  };
  mkdirSync(join(root, 'RTE'), { recursive: true });
  mkdirSync(join(root, 'STS-B'), { recursive: true });
  writeFileSync(join(root, 'RTE/train.tsv'), rte(48, 1, true));
  writeFileSync(join(root, 'RTE/dev.tsv'), rte(16, 2, true));
  writeFileSync(join(root, 'RTE/test.tsv'), rte(TEST_ROWS.RTE, 3, false));
  writeFileSync(join(root, 'STS-B/train.tsv'), sts(48, 4, true));
  writeFileSync(join(root, 'STS-B/dev.tsv'), sts(16, 5, true));
  writeFileSync(join(root, 'STS-B/test.tsv'), sts(TEST_ROWS['STS-B'], 6, false));
}

describe('taskscope pipeline (CLI, GLUE-layout files)', () => {
  let out: string;
  let config: string;
  const notes: string[] = [];
  const note = (l: string) => notes.push(l);

  beforeAll(() => {
    const glue = join(dir, 'glue');
    writeGlueFolder(glue);
    out = join(dir, 'run');
    config = join(dir, 'pipeline.json');
    writeFileSync(
      config,
      JSON.stringify({
        mtl: { ...MTL, data: { kind: 'glue-dir', path: glue } },
        finetune: { tasks: ['RTE', 'STS-B'], epochs: 1 },
        predict: { teacher: { splits: ['train'] } },
        submit: { partial: true },
      }),
    );
  });

  it('runs every stage and writes checkpoints, metrics, predictions and the zip', async () => {
    await runPipelineCli({ config, out, backend: 'cpu' }, note);
    expect(notes.at(-2)).toBe('done: ran mtl, strip, finetune, evaluate, predict, submit');
    const read = (p: string) => readFileSync(join(out, p), 'utf8');

    // mtl: an HF folder with both heads; strip: the same encoder tensors, no heads.
    for (const f of ['config.json', 'vocab.txt', 'tokenizer_config.json', 'model.safetensors', 'heads.json', 'experiment.json', 'metrics.json'])
      expect(existsSync(join(out, 'mtl/model', f)), f).toBe(true);
    expect(JSON.parse(read('mtl/model/heads.json')).heads.map((h: { task: string }) => h.task)).toEqual(['RTE', 'STS-B']);
    const mtlMetrics = JSON.parse(read('mtl/metrics.json'));
    expect(mtlMetrics.tasks.map((t: { task: string }) => t.task)).toEqual(['RTE', 'STS-B']);
    expect(
      read('mtl/log.jsonl')
        .trim()
        .split('\n')
        .filter((l) => JSON.parse(l).type === 'step'),
    ).toHaveLength(12); // 6 + 6 batches of 8
    expect(readdirSync(join(out, 'strip/model')).sort()).toEqual(['config.json', 'model.safetensors', 'tokenizer_config.json', 'vocab.txt']);
    expect(JSON.parse(read('strip/strip.json')).droppedHeads).toEqual(['RTE', 'STS-B']);
    const tensors = (p: string) => new Map(parseSafetensors(new Uint8Array(readFileSync(join(out, p)))).tensors.map((t) => [t.name, t]));
    const mtlT = tensors('mtl/model/model.safetensors');
    const stripT = tensors('strip/model/model.safetensors');
    expect([...stripT.keys()].sort()).toEqual([...mtlT.keys()].sort());
    expect(Array.from(stripT.get('encoder.layer.0.attention.self.query.weight')!.data)).toEqual(
      Array.from(mtlT.get('encoder.layer.0.attention.self.query.weight')!.data),
    );

    // finetune: one fresh linear head per task, encoder moved away from the stripped one.
    for (const task of ['RTE', 'STS-B']) {
      const heads = JSON.parse(read(`finetune/${task}/model/heads.json`)).heads;
      expect(heads.map((h: { task: string; kind: string }) => [h.task, h.kind])).toEqual([[task, task === 'RTE' ? 'classification' : 'regression']]);
      const ft = tensors(`finetune/${task}/model/model.safetensors`);
      expect(Array.from(ft.get('pooler.dense.weight')!.data)).not.toEqual(Array.from(stripT.get('pooler.dense.weight')!.data));
      expect(
        read(`finetune/${task}/log.jsonl`)
          .trim()
          .split('\n')
          .filter((l) => JSON.parse(l).type === 'step'),
      ).toHaveLength(6);
    }

    // evaluate: metrics recomputed from the written dev predictions and the dev file's labels.
    const devLabels = readFileSync(join(dir, 'glue/RTE/dev.tsv'), 'utf8')
      .trim()
      .split('\n')
      .slice(1)
      .map((l) => (l.split('\t')[3] === 'entailment' ? 1 : 0));
    const devPred = parsePredictionsJsonl(read('evaluate/RTE.dev.jsonl'), 'RTE.dev');
    expect(devPred.uids).toEqual(devLabels.map((_, i) => String(i)));
    const acc = devPred.predictions.filter((p, i) => p === devLabels[Number(devPred.uids[i])]).length / devLabels.length;
    const rteReport = JSON.parse(read('evaluate/RTE.json'));
    expect(rteReport.splits.dev.metrics.acc).toBeCloseTo(acc, 12);
    expect(rteReport.devScore).toBeCloseTo(acc, 12);
    const stsReport = JSON.parse(read('evaluate/STS-B.json'));
    expect(Object.keys(stsReport.splits.dev.metrics).sort()).toEqual(['pearson', 'spearman']);
    const summary = JSON.parse(read('evaluate/summary.json'));
    expect(summary.glueScore).toBeCloseTo((rteReport.devScore + stsReport.devScore) / 2, 12);

    // predict: one line per test row; probabilities for RTE, raw scores for STS-B.
    const rteTest = parsePredictionsJsonl(read('predict/RTE.test.jsonl'), 'RTE.test');
    expect(rteTest.uids).toEqual(Array.from({ length: TEST_ROWS.RTE }, (_, i) => String(i)));
    expect(rteTest.width).toBe(2);
    rteTest.predictions.forEach((p, i) => {
      const [a, b] = rteTest.scores.slice(2 * i, 2 * i + 2);
      expect(a + b).toBeCloseTo(1, 5);
      expect(p).toBe(b > a ? 1 : 0);
    });
    const stsTest = parsePredictionsJsonl(read('predict/STS-B.test.jsonl'), 'STS-B.test');
    expect(stsTest.uids).toHaveLength(TEST_ROWS['STS-B']);
    expect(stsTest.scores).toEqual(stsTest.predictions);

    // teacher soft labels: this run's RTE train probabilities (no soft labels for the regression task).
    const soft = parseSoftLabels(read('teacher/RTE.train.soft.jsonl'), 'soft');
    const trainPred = parsePredictionsJsonl(read('predict/RTE.train.jsonl'), 'RTE.train');
    expect(soft.byUid.size).toBe(48);
    expect(Array.from(soft.byUid.get('7')!)).toEqual(
      trainPred.scores.slice(2 * trainPred.uids.indexOf('7'), 2 * trainPred.uids.indexOf('7') + 2).map(Math.fround),
    );
    expect(existsSync(join(out, 'teacher/STS-B.train.soft.jsonl'))).toBe(false);

    // submit: exactly the two files, one row per test example, labels as the registry writes them.
    const zip = unzipSync(new Uint8Array(readFileSync(join(out, 'submit/glue_submission.zip'))));
    expect(Object.keys(zip)).toEqual(['STS-B.tsv', 'RTE.tsv']);
    const rteLines = strFromU8(zip['RTE.tsv']).trim().split('\n');
    expect(rteLines).toHaveLength(TEST_ROWS.RTE + 1);
    expect(rteLines[0]).toBe('index\tprediction');
    expect(rteLines.slice(1)).toEqual(rteTest.uids.map((u, i) => `${u}\t${rteTest.predictions[i] === 1 ? 'entailment' : 'not_entailment'}`));
    const stsLines = strFromU8(zip['STS-B.tsv']).trim().split('\n');
    expect(stsLines).toHaveLength(TEST_ROWS['STS-B'] + 1);
    expect(stsLines.slice(1)).toEqual(stsTest.uids.map((u, i) => `${u}\t${Math.min(5, Math.max(0, stsTest.predictions[i])).toFixed(3)}`));
    const report = JSON.parse(read('submit/report.json'));
    expect(report.files).toEqual({ 'STS-B.tsv': TEST_ROWS['STS-B'], 'RTE.tsv': TEST_ROWS.RTE });
    expect(report.missing).toEqual(['CoLA.tsv', 'SST-2.tsv', 'MRPC.tsv', 'QQP.tsv', 'MNLI-m.tsv', 'MNLI-mm.tsv', 'QNLI.tsv', 'WNLI.tsv', 'AX.tsv']);
  });

  it('a second run skips every completed stage; a deleted output re-runs only its stage', async () => {
    const zipPath = join(out, 'submit/glue_submission.zip');
    const before = readFileSync(zipPath);
    const ftBefore = readFileSync(join(out, 'finetune/RTE/model/model.safetensors'));
    notes.length = 0;
    await runPipelineCli({ config, out, backend: 'cpu' }, note);
    expect(notes.at(-2)).toBe('done: ran nothing; already complete: mtl, strip, finetune, evaluate, predict, submit');
    unlinkSync(zipPath);
    notes.length = 0;
    await runPipelineCli({ config, out, backend: 'cpu' }, note);
    expect(notes.at(-2)).toBe('done: ran submit; already complete: mtl, strip, finetune, evaluate, predict');
    expect(readFileSync(zipPath)).toEqual(before); // same predictions, same bytes
    expect(readFileSync(join(out, 'finetune/RTE/model/model.safetensors'))).toEqual(ftBefore);
  });

  it('refuses a changed config in the same folder unless told where to redo from', async () => {
    const changed = join(dir, 'changed.json');
    const cfg = JSON.parse(readFileSync(config, 'utf8'));
    cfg.finetune.epochs = 2;
    writeFileSync(changed, JSON.stringify(cfg));
    await expect(runPipelineCli({ config: changed, out, backend: 'cpu' }, note)).rejects.toThrow(
      `${out}: this run was made with a different pipeline config (differs in: finetune); use another output folder, or redo from a stage with "from"`,
    );
    await expect(runPipelineCli({ config: changed, out, backend: 'cpu', from: 'nope' }, note)).rejects.toThrow(
      '--from must be one of mtl, strip, finetune, evaluate, predict, submit, got "nope"',
    );
  });

  it('averages the teacher soft labels with other runs (predict.teacher.ensembleWith), redoing from predict', async () => {
    // Another "teacher run": a copy of this run whose RTE train predictions all say [1, 0].
    const other = join(dir, 'run-other');
    cpSync(out, other, { recursive: true });
    const ownPred = parsePredictionsJsonl(readFileSync(join(out, 'predict/RTE.train.jsonl'), 'utf8'), 'own');
    writeFileSync(join(other, 'predict/RTE.train.jsonl'), ownPred.uids.map((uid) => JSON.stringify({ uid, prediction: 0, scores: [1, 0] })).join('\n') + '\n');
    const ensemble = join(dir, 'ensemble.json');
    const cfg = JSON.parse(readFileSync(config, 'utf8'));
    cfg.predict.teacher.ensembleWith = ['run-other']; // relative to the config file
    writeFileSync(ensemble, JSON.stringify(cfg));
    notes.length = 0;
    await runPipelineCli({ config: ensemble, out, backend: 'cpu', from: 'predict' }, note);
    expect(notes.at(-2)).toBe('done: ran predict, submit; already complete: mtl, strip, finetune, evaluate');
    const soft = parseSoftLabels(readFileSync(join(out, 'teacher/RTE.train.soft.jsonl'), 'utf8'), 'soft');
    expect(soft.header.teachers).toBe(2);
    ownPred.uids.forEach((uid, i) => {
      const [a, b] = ownPred.scores.slice(2 * i, 2 * i + 2);
      const q = soft.byUid.get(uid)!;
      expect(q[0]).toBeCloseTo((a + 1) / 2, 6);
      expect(q[1]).toBeCloseTo(b / 2, 6);
    });
  });
});

describe('runPipeline restarts inside a stage', () => {
  /** In-memory toy splits in the trainer's layout; test rows have integer uids and no labels. */
  function memoryEnv(
    storage: MemoryRunStorage,
    failOn: { task?: string; split?: string } | null,
    stores: Map<string, MemoryTrainStateStore>,
    signal?: AbortSignal,
  ) {
    const events: PipelineEvent[] = [];
    const loads: string[] = [];
    const split = (task: TaskName, name: SplitName) => {
      const kind = task === 'RTE' ? 'pair' : 'score';
      const n = name === 'train' ? 40 : name === 'dev' ? 12 : 6;
      const rows = toyRows(kind, n, name.length + (task === 'RTE' ? 0 : 100)).map((r, i) => ({
        ...r,
        uid: String(i),
        label: name === 'test' ? undefined : r.label,
      }));
      return memorySplit(task, name, rows, { type: kind === 'pair' ? 'classification' : 'regression' });
    };
    const env: PipelineEnv = {
      storage,
      async initialModel(exp) {
        return { encoder: buildEncoder(exp, { vocabSize: TINY_VOCAB }), vocabText: syntheticVocabText(TINY_VOCAB - 5), doLowerCase: true };
      },
      async loadSplit(task, name) {
        loads.push(`${task}/${name}`);
        if (failOn && failOn.task === task && failOn.split === name) throw new Error(`injected failure loading ${task} ${name}`);
        return task === 'RTE' || task === 'STS-B' ? split(task, name) : null;
      },
      trainStates: {
        open: (slot) => {
          if (!stores.has(slot)) stores.set(slot, new MemoryTrainStateStore());
          return stores.get(slot)!;
        },
        remove: async (slot) => void stores.delete(slot),
      },
      onEvent: (e) => events.push(e),
      signal,
    };
    return { env, events, loads };
  }
  const cfg = parsePipelineConfig({ mtl: { ...MTL, checkpointEvery: 1 }, finetune: { tasks: ['RTE', 'STS-B'] }, submit: { partial: true } });

  it('a failure in the second fine-tuning resumes there: the first task is not trained again', async () => {
    const storage = new MemoryRunStorage();
    const stores = new Map<string, MemoryTrainStateStore>();
    // STS-B's training split is first loaded by the mtl stage; fail only once fine-tuning has started.
    const first = memoryEnv(storage, null, stores);
    await runPipeline(cfg, first.env, { until: 'strip' });
    const failing = memoryEnv(storage, { task: 'STS-B', split: 'train' }, stores);
    await expect(runPipeline(cfg, failing.env)).rejects.toThrow('injected failure loading STS-B train');
    const rteModel = await storage.read('finetune/RTE/model/model.safetensors');
    expect(rteModel).not.toBeNull();
    const state = JSON.parse((await readText(storage, 'pipeline-state.json'))!);
    expect(Object.keys(state.done).sort()).toEqual(['finetune/RTE', 'mtl', 'stage:mtl', 'stage:strip', 'strip']);
    expect(Object.keys(state.inProgress)).toEqual(['finetune/STS-B']);

    const again = memoryEnv(storage, null, stores);
    const r = await runPipeline(cfg, again.env);
    expect(r).toEqual({ ran: ['finetune', 'evaluate', 'predict', 'submit'], skipped: ['mtl', 'strip'] });
    expect(
      again.events
        .filter((e) => e.type === 'unit' && e.key.startsWith('finetune/'))
        .map((e) => `${(e as { key: string }).key} ${(e as { status: string }).status}`),
    ).toEqual(['finetune/RTE skipped', 'finetune/STS-B start', 'finetune/STS-B done']);
    expect(await storage.read('finetune/RTE/model/model.safetensors')).toEqual(rteModel);
    expect(again.loads.filter((l) => l === 'RTE/train')).toEqual([]); // RTE was not trained again
    expect(stores.size).toBe(0); // finished units release their train states
    expect(Object.keys(unzipSync((await storage.read('submit/glue_submission.zip'))!))).toEqual(['STS-B.tsv', 'RTE.tsv']);
  });

  it('leaves tf.memory().numTensors where it started (every stage disposes its models)', async () => {
    const before = tf.memory().numTensors;
    await runPipeline(cfg, memoryEnv(new MemoryRunStorage(), null, new Map()).env);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('a stop during training resumes from the saved train state, mid-stage', async () => {
    const storage = new MemoryRunStorage();
    const stores = new Map<string, MemoryTrainStateStore>();
    const stop = new AbortController();
    const first = memoryEnv(storage, null, stores, stop.signal);
    first.env.onEvent = (e) => {
      if (e.type === 'train' && e.run === 'mtl' && e.event.type === 'step' && e.event.step === 4) stop.abort();
    };
    await expect(runPipeline(cfg, first.env, { until: 'mtl' })).rejects.toThrow('pipeline: mtl training stopped at step 4');
    expect([...stores.values()].map((s) => s.savedSteps.at(-1))).toEqual([4]);
    const again = memoryEnv(storage, null, stores);
    await runPipeline(cfg, again.env, { until: 'mtl' });
    const steps = (await readText(storage, 'mtl/log.jsonl'))!
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
      .filter((l) => l.type === 'step')
      .map((l) => l.step);
    expect(steps).toEqual([5, 6, 7, 8, 9, 10]); // 40 + 40 rows in batches of 8 = 10 steps; the first 4 were not redone
  });
});
