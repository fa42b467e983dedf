import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { useBackend } from '../helpers/nodeBackends.ts';
import { tinyExperiment, tinyModel, toySplits } from '../helpers/tinyTraining.ts';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { PYTHON, readLog, readTorchTemplate, runTorch, writeFiles } from '../helpers/torchExport.ts';
import { bestF1Threshold } from '../../src/engine/metrics/f1Threshold.ts';
import { Rng } from '../../src/engine/runtime/rng.ts';
import { torchExportFiles } from '../../src/engine/export/torch/torchExport.ts';
import { lastEvaluation, parseRunLog } from '../../src/engine/export/torch/importRun.ts';
import { Trainer } from '../../src/engine/train/trainer.ts';
import type { StepEvent } from '../../src/engine/train/trainEvents.ts';
import type { ExperimentInput } from '../../src/engine/experiment/experimentSchema.ts';
import { buildEncoder, buildMultiTaskModel, variantExtensionFor } from '../../src/engine/model/modelFactory.ts';
import { TINY_VOCAB, toyRows } from '../helpers/tinyTraining.ts';
import { memorySplit } from '../../src/engine/train/memorySplit.ts';
import { fileURLToPath } from 'node:url';

const TEMPLATE_DIR = fileURLToPath(new URL('../../src/engine/export/torch/template', import.meta.url));

let root: string;
beforeAll(async () => {
  await useBackend('cpu');
  root = await mkdtemp(join(tmpdir(), 'taskscope-torch-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const STEPS = 20;

/** Exports the experiment's fresh model, then trains that same model STEPS steps in Taskscope. */
async function exportAndTrain(over: Partial<ExperimentInput>, dir: string, data = toySplits(32, 16), scaleOf: (name: string) => number = () => 1) {
  const exp = tinyExperiment({
    encoderDropout: 0,
    tasks: [
      { name: 'RTE', dropout: 0 },
      { name: 'STS-B', dropout: 0 },
    ],
    ...over,
  });
  const encoder = buildEncoder(exp, { vocabSize: TINY_VOCAB });
  const model = exp.variant.kind === 'mtdnn' ? tinyModel(exp) : buildMultiTaskModel(exp, encoder, { extension: variantExtensionFor(exp, encoder) });
  if (exp.variant.kind === 'mtdnn') encoder.dispose();
  // Gated-BERT starts with small task scales and adapters (N(0, 0.02²)) and zero gates, so its additions barely move the
  // loss; scaled up (and the gates made non-uniform) they change it by far more than the tolerance, so the comparison tests them.
  for (const [name, v] of model.namedVariables()) {
    if (name.startsWith('gated.task_emb_')) tf.tidy(() => v.assign(tf.onesLike(v)));
    if (name.startsWith('gated.gate_')) tf.tidy(() => v.assign(tf.randomNormal(v.shape, 0, 0.05, 'float32', 7)));
    if (name.startsWith('gated.task.')) tf.tidy(() => v.assign(tf.mul(v, 10)));
    if (scaleOf(name) !== 1) tf.tidy(() => v.assign(tf.mul(v, scaleOf(name))));
  }
  const vocabText = Array.from({ length: TINY_VOCAB }, (_, i) => `[unused${i}]`).join('\n') + '\n';
  const before = tf.memory().numTensors;
  const files = await torchExportFiles({ experiment: exp, model, data, vocabText, doLowerCase: true, template: await readTorchTemplate() });
  expect(tf.memory().numTensors).toBe(before); // the export leaves no tensor behind
  await writeFiles(dir, files);
  const steps: StepEvent[] = [];
  const trainer = new Trainer({ experiment: exp, model, data, onEvent: (e) => e.type === 'step' && steps.push(e) });
  for (let i = 0; i < STEPS; i++) await trainer.trainStep();
  const evaluation = await trainer.evaluate();
  trainer.dispose();
  model.dispose();
  return { exp, steps, files, evaluation };
}

describe('export-torch: the exported trainer matches Taskscope step for step', () => {
  for (const variant of ['mtdnn', 'embert', 'pals', 'gated'] as const) {
    it(`${variant}: first ${STEPS} losses within 1e-5 (dropout off, same batches, adamax + warmup + clipping)`, async () => {
      const dir = join(root, variant);
      const { steps } = await exportAndTrain(
        {
          variant: { kind: variant, hiddenSizeAug: 12, palHeads: 2 },
          gradAccumulation: 2,
          globalClip: 0.5,
          epochs: 3,
          optimizer: { kind: 'adamax', lr: 5e-3 },
          schedule: { kind: 'warmup_linear', warmup: 0.1 },
        },
        dir,
      );
      await runTorch(dir, ['--out', join(dir, 'run'), '--max-steps', String(STEPS), '--threads', '1']);
      const log = await readLog(join(dir, 'run', 'log.jsonl'));
      const py = log.filter((l) => l.type === 'step');
      expect(py).toHaveLength(STEPS);
      const worst = Math.max(...py.map((p, i) => Math.abs(p.loss - steps[i].loss)));
      py.forEach((p, i) => {
        expect(p.tasks).toEqual(steps[i].tasks);
        expect(p.weights).toEqual(steps[i].weights);
        expect(p.lr).toBeCloseTo(steps[i].lr, 12);
      });
      console.log(
        `${variant}: worst |Δloss| over ${STEPS} steps ${worst.toExponential(2)}; losses ${steps[0].loss.toFixed(5)} → ${steps[STEPS - 1].loss.toFixed(5)}`,
      );
      expect(worst).toBeLessThan(1e-5);
      // The run really moves: a constant loss would make the comparison empty.
      expect(Math.abs(steps[STEPS - 1].loss - steps[0].loss)).toBeGreaterThan(1e-3);
    }, 300_000);
  }
});

describe('export-torch: samplers, SIWLM weights and the other optimisers', () => {
  const cases: [string, Partial<ExperimentInput>][] = [
    [
      'SIWLM (central STS-B ×3, alternation) + annealed sampling + BERTAdam',
      {
        siwlm: { enabled: true, centralTask: 'STS-B', centralWeight: 3 },
        sampler: { kind: 'anneal' },
        // lr 2e-3: at 5e-3 the un-bias-corrected BERTAdam steps on the MSE loss are large enough that float32 rounding
        // differences (<= 5e-7 for 19 steps) grew to 1.7e-5 at step 20.
        optimizer: { kind: 'bertadam', lr: 2e-3 },
        schedule: { kind: 'warmup_linear_old', warmup: 0.1 },
        epochs: 3,
      },
    ],
    [
      'MT-DNN mix_opt 1 + RAdam, no clipping',
      {
        sampler: { kind: 'mtdnn', mixOpt: 1, ratio: 0 },
        optimizer: { kind: 'radam', lr: 5e-3 },
        globalClip: 0,
        epochs: 3,
      },
    ],
  ];
  for (const [label, over] of cases) {
    it(`${label}: first ${STEPS} losses within 1e-5`, async () => {
      const dir = join(root, label.replace(/\W+/g, '-'));
      const { steps } = await exportAndTrain(over, dir);
      await runTorch(dir, ['--out', join(dir, 'run'), '--max-steps', String(STEPS), '--threads', '1']);
      const py = (await readLog(join(dir, 'run', 'log.jsonl'))).filter((l) => l.type === 'step');
      expect(py.map((p) => p.weights)).toEqual(steps.map((s) => s.weights));
      if (over.siwlm) expect(new Set(steps.flatMap((s) => s.weights)).size).toBeGreaterThan(1); // the weights vary: SIWLM is exercised
      const worst = Math.max(...py.map((p, i) => Math.abs(p.loss - steps[i].loss)));
      console.log(`${label}: worst |Δloss| ${worst.toExponential(2)}`);
      expect(worst).toBeLessThan(1e-5);
    }, 300_000);
  }
});

describe('export-torch: torchrun data parallel', () => {
  it('2 processes (gloo, CPU) give the one-process losses within 1e-5, an odd batch split 3 + 2 included', async () => {
    const dir = join(root, 'ddp');
    // Batch 5 splits unevenly across 2 ranks: each rank's loss is its share of the batch mean, not its own mean.
    await exportAndTrain({ batchSize: 5, gradAccumulation: 2, epochs: 3, optimizer: { kind: 'adamw', lr: 3e-3 } }, dir);
    await runTorch(dir, ['--out', join(dir, 'one'), '--max-steps', String(STEPS), '--threads', '1']);
    await runTorch(dir, ['--out', join(dir, 'two'), '--max-steps', String(STEPS), '--threads', '1'], 2);
    const one = (await readLog(join(dir, 'one', 'log.jsonl'))).filter((l) => l.type === 'step');
    const two = (await readLog(join(dir, 'two', 'log.jsonl'))).filter((l) => l.type === 'step');
    expect(two).toHaveLength(STEPS);
    const status = (await readLog(join(dir, 'two', 'log.jsonl'))).find((l) => l.type === 'status');
    expect(status?.world).toBe(2);
    const worst = Math.max(...two.map((s, i) => Math.abs(s.loss - one[i].loss)));
    console.log(`torchrun 2 vs 1 process: worst |Δloss| over ${STEPS} steps ${worst.toExponential(2)}`);
    expect(worst).toBeLessThan(1e-5);
    expect(two.map((s) => s.tasks)).toEqual(one.map((s) => s.tasks));
  }, 300_000);
});

describe('export-torch: F1 decision thresholds (thresholdHoldout)', () => {
  it('MRPC with a quarter of its rows held out: same training rows (losses within 1e-5) and the same threshold and dev metrics', async () => {
    const dir = join(root, 'threshold');
    const pairs = (split: 'train' | 'dev', n: number, seed: number) => memorySplit('MRPC', split, toyRows('pair', n, seed), { type: 'classification' });
    const data = { ...toySplits(32, 16), MRPC: { train: pairs('train', 40, 4), dev: pairs('dev', 24, 5) } };
    const over: Partial<ExperimentInput> = {
      tasks: [
        { name: 'MRPC', dropout: 0, thresholdHoldout: 0.25 },
        { name: 'STS-B', dropout: 0 },
      ],
      optimizer: { kind: 'adamax', lr: 1e-2 },
      epochs: 3,
    };
    // The toy model barely separates MRPC's classes: with probabilities within 1e-5 of each other, float rounding
    // between the frameworks (1e-7) can move a dev row across a cut between them. The classifier ×10 keeps them apart.
    const { steps, files, evaluation } = await exportAndTrain(over, dir, data, (name) => (name.startsWith('heads.MRPC.') ? 10 : 1));
    expect((files.get('data/MRPC/holdout.jsonl') as string).trim().split('\n')).toHaveLength(10);
    expect((files.get('data/MRPC/train.jsonl') as string).trim().split('\n')).toHaveLength(30);
    await runTorch(dir, ['--out', join(dir, 'run'), '--max-steps', String(STEPS), '--threads', '1']);
    const log = await readLog(join(dir, 'run', 'log.jsonl'));
    const py = log.filter((l) => l.type === 'step');
    const worst = Math.max(...py.map((p, i) => Math.abs(p.loss - steps[i].loss)));
    console.log(`thresholdHoldout: worst |Δloss| ${worst.toExponential(2)}`);
    expect(worst).toBeLessThan(1e-5);
    const ts = evaluation.tasks.find((t) => t.task === 'MRPC')!;
    const pe = log
      .filter((l) => l.type === 'eval')
      .at(-1)!
      .tasks.find((t: { task: string }) => t.task === 'MRPC');
    expect(pe.decision.holdoutRows).toBe(10);
    expect(Math.abs(pe.decision.threshold - ts.decision!.threshold)).toBeLessThan(1e-5);
    expect(pe.decision.holdoutF1).toBeCloseTo(ts.decision!.holdoutF1, 9);
    for (const m of ['acc', 'f1'] as const) {
      expect(pe.metrics[m]).toBeCloseTo(ts.metrics[m]!, 9);
      expect(pe.decision.argmaxMetrics[m]).toBeCloseTo(ts.decision!.argmaxMetrics![m]!, 9);
    }
    // The toy model does not separate the classes (its threshold is "all positive"), so the threshold search itself
    // is checked on 300 seeded scores with ties: train.py's best_f1_threshold gives bestF1Threshold's answer exactly.
    const rng = new Rng('f1-threshold');
    const probs = Array.from({ length: 300 }, () => Math.fround(rng.int(120) / 120));
    const labels = probs.map((p) => (rng.uniform() < p ? 1 : 0));
    const script = 'import json,sys; from taskscope_torch.evaluation import best_f1_threshold as b; print(json.dumps(b(*json.loads(sys.argv[1]))))';
    const { stdout } = await promisify(execFile)(PYTHON, ['-c', script, JSON.stringify([probs, labels])], { cwd: dir });
    const want = bestF1Threshold(probs, labels);
    expect(want.threshold).toBeGreaterThan(0.05); // a real cut, not "all positive"
    expect(JSON.parse(stdout)).toEqual([want.threshold, want.f1]);
  }, 300_000);
});

describe('export-torch: a resumed run', () => {
  it("cut at step 5 and resumed with --resume gives the uncut run's 12 losses (dropout on: the generator state is restored)", async () => {
    const dir = join(root, 'resume');
    const over: Partial<ExperimentInput> = {
      encoderDropout: 0.1,
      tasks: [
        { name: 'RTE', dropout: 0.1 },
        { name: 'STS-B', dropout: 0.1 },
      ],
      sampler: { kind: 'sqrt' },
      gradAccumulation: 2,
      epochs: 3,
    };
    await exportAndTrain(over, dir);
    const args = (out: string, steps: number) => ['--out', join(dir, out), '--max-steps', String(steps), '--threads', '1'];
    await runTorch(dir, args('whole', 12));
    await runTorch(dir, args('cut', 5));
    await runTorch(dir, [...args('cut', 12), '--resume']);
    const whole = (await readLog(join(dir, 'whole', 'log.jsonl'))).filter((l) => l.type === 'step');
    const cut = (await readLog(join(dir, 'cut', 'log.jsonl'))).filter((l) => l.type === 'step');
    expect(cut.map((l) => l.step)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    expect(cut.map((l) => l.tasks)).toEqual(whole.map((l) => l.tasks));
    const worst = Math.max(...cut.map((l, i) => Math.abs(l.loss - whole[i].loss)));
    console.log(`resume at step 5: worst |Δloss| over 12 steps ${worst.toExponential(2)}`);
    expect(worst).toBeLessThan(1e-6);
    const status = (await readLog(join(dir, 'cut', 'log.jsonl'))).filter((l) => l.type === 'status').map((l) => `${l.status}:${l.step}`);
    // The cut run's lines after step 5 are dropped; the resumed run starts at 5 and stops at 12 of 24.
    expect(status).toEqual(['running:5', 'stopped:12']);
  }, 300_000);
});

describe('export-torch: SMART adversarial training', () => {
  // alpha 100 and step size 2: on the tiny random model the defaults' term moves the losses by less than the tolerance.
  const smart = { enabled: true, alpha: 100, noiseVar: 1e-3, stepSize: 2, epsilon: 1e-6, steps: 2 };
  // Batch 5: under torchrun the ranks hold 3 + 2 rows and slice the batch's noise.
  const over: Partial<ExperimentInput> = { batchSize: 5, gradAccumulation: 2, epochs: 3, optimizer: { kind: 'adamax', lr: 5e-3 }, smart };

  it(`classification + regression, 2 ascent steps: first ${STEPS} losses within 1e-5 (dropout off), 1 and 2 processes`, async () => {
    const dir = join(root, 'smart');
    const { steps, files } = await exportAndTrain(over, dir);
    expect(JSON.parse(files.get('export.json') as string).smart).toEqual({ ...smart, norm: 'inf', dropout: 'fresh' });
    await runTorch(dir, ['--out', join(dir, 'run'), '--max-steps', String(STEPS), '--threads', '1']);
    const py = (await readLog(join(dir, 'run', 'log.jsonl'))).filter((l) => l.type === 'step');
    expect(py).toHaveLength(STEPS);
    expect(py.map((p) => p.tasks)).toEqual(steps.map((s) => s.tasks));
    const worst = Math.max(...py.map((p, i) => Math.abs(p.loss - steps[i].loss)));
    await runTorch(dir, ['--out', join(dir, 'two'), '--max-steps', String(STEPS), '--threads', '1'], 2);
    const two = (await readLog(join(dir, 'two', 'log.jsonl'))).filter((l) => l.type === 'step');
    expect(two).toHaveLength(STEPS);
    const worstTwo = Math.max(...two.map((p, i) => Math.abs(p.loss - steps[i].loss)));
    // SMART really changes the run: the same experiment without it trains to other losses.
    const plain = (await exportAndTrain({ ...over, smart: { enabled: false } }, join(root, 'smart-off'))).steps;
    const effect = Math.max(...plain.map((s, i) => Math.abs(s.loss - steps[i].loss)));
    console.log(
      `SMART: worst |Δloss| over ${STEPS} steps ${worst.toExponential(2)} (1 process), ${worstTwo.toExponential(2)} (2); SMART's own effect ${effect.toExponential(2)}`,
    );
    expect(worst).toBeLessThan(1e-5);
    expect(worstTwo).toBeLessThan(1e-5);
    expect(effect).toBeGreaterThan(1e-3);
  }, 300_000);

  it("SMART's noise: the Python draw equals tf.randomNormal(shape, 0, 1, 'float32', seed) exactly", async () => {
    const cases: [number, number[]][] = [
      [1, [5]],
      [123456789, [2, 3, 4]],
      [4294967295, [3, 7, 16]],
    ];
    const script = [
      'import json, sys',
      'from taskscope_torch.tfjs_random import random_normal',
      'for seed, shape in json.loads(sys.argv[1]):',
      '    print(json.dumps(random_normal(shape, seed).reshape(-1).tolist()))',
      // A slice of rows, as a rank of a data-parallel run draws: rows 1.. of [3, 7, 16].
      'print(json.dumps(random_normal([2, 7, 16], 4294967295, skip=7 * 16).reshape(-1).tolist()))',
    ].join('\n');
    const { stdout } = await promisify(execFile)(PYTHON, ['-c', script, JSON.stringify(cases)], { cwd: TEMPLATE_DIR });
    const lines = stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as number[]);
    cases.forEach(([seed, shape], i) => {
      const draw = tf.randomNormal(shape, 0, 1, 'float32', seed);
      expect(lines[i]).toEqual(Array.from(draw.dataSync()));
      draw.dispose();
    });
    expect(lines[3]).toEqual(lines[2].slice(7 * 16));
  });
});

describe('export-torch: bad logs on import', () => {
  it('parseRunLog names the bad line', () => {
    expect(() => parseRunLog('{"type":"status","step":0}\n{"type":"step","step":1,"loss":0.5}\n{"type":"step","step":2}\n', 'run/log.jsonl')).toThrow(
      'run/log.jsonl:3: a step line needs numeric "step" and "loss"',
    );
    expect(() => parseRunLog('{"type":"step","step":1,"loss":0.5}\n{oops\n', 'log.jsonl')).toThrow(/^log\.jsonl:2: not valid JSON/);
    expect(() => parseRunLog('{"type":"status","step":0}\n', 'log.jsonl')).toThrow('log.jsonl: no step lines: not a training log');
    const log = parseRunLog(
      '{"type":"step","step":1,"loss":0.5}\n{"type":"eval","step":1,"epoch":0,"tasks":[{"task":"RTE","rows":3,"loss":0.7,"metrics":{"acc":null},"score":null}],"glueScore":null}\n',
    );
    expect(lastEvaluation(log)).toEqual({ step: 1, epoch: 0, tasks: [{ task: 'RTE', rows: 3, loss: 0.7, metrics: { acc: NaN }, score: NaN }], glueScore: NaN });
  });
});
