import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { appendFileSync, cpSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { useBackend } from '../helpers/nodeBackends.ts';
import { SMALL_PRETRAIN_ARGS, pretrainCliRoot, readJsonLines, runCliCommand } from '../helpers/pretrainCliRoot.ts';
import { TINY } from '../helpers/pretrainTiny.ts';
import { loadBertCheckpoint } from '../../src/engine/checkpoint/hfFolder.ts';
import { f16BitsToF32, f32ToF16Bits } from '../../src/engine/checkpoint/halfFloat.ts';
import { parseSafetensors } from '../../src/engine/checkpoint/safetensors.ts';
import { dirSource } from '../../src/engine/platform/node/nodeSource.ts';
import { heldOutFigure } from '../../src/engine/pretrain/heldOutEvaluation.ts';
import { pretrainStages, verifySha256Sums } from '../../src/engine/pretrain/releaseCheckpoint.ts';
import { registerReleaseCommand } from '../../src/cli/commands/release.ts';

beforeAll(async () => {
  await useBackend('wasm');
});

const folderFiles = (dir: string) => new Map(readdirSync(dir).map((name) => [name, new Uint8Array(readFileSync(join(dir, name)))]));

describe('taskscope release', () => {
  it('writes F16 weights, the run stages, held-out figures of F16 and F32, and SHA-256 sums that verify', async () => {
    const { root, cli } = pretrainCliRoot();
    const run = join(root, 'run');
    const release = (out: string, glue = join(root, 'glue')) =>
      runCliCommand(registerReleaseCommand, ['release', '--from', run, '--glue', glue, '--out', join(root, out)]);
    try {
      // Two stages: --stop-at 3, then a resume to the schedule's end.
      await cli('run', '--vocab', TINY, ...SMALL_PRETRAIN_ARGS, '--steps', '6', '--stop-at', '3', '--eval-every', '2', '--lr', '1e-3');
      await cli('run', '--resume', '--steps', '6', '--eval-every', '2');
      const stdout = await release('rel');
      expect(stdout).toMatch(/^release of step 6 in .*rel: \d+ bytes; held-out MLM loss \d+\.\d{4}, accuracy \d+\.\d{2} % \(F16\) vs \d+\.\d{4}, /);

      const dir = join(root, 'rel');
      expect(readdirSync(dir).sort()).toEqual(['SHA256SUMS', 'config.json', 'model.safetensors', 'release.json', 'tokenizer_config.json', 'vocab.txt']);
      const manifest = JSON.parse(readFileSync(join(dir, 'release.json'), 'utf8'));
      expect(manifest.step).toBe(6);
      expect(manifest.stages.map((s: { fromStep: number; toStep: number; scheduleSteps: number }) => [s.fromStep, s.toStep, s.scheduleSteps])).toEqual([
        [0, 3, 6],
        [3, 6, 6],
      ]);
      expect(manifest.stages.map((s: { heldOut: { step: number }[] }) => s.heldOut.map((e) => e.step))).toEqual([
        [0, 2, 3],
        [3, 4, 6],
      ]);
      // The F32 figure is recomputed from rebuilt held-out sequences: it must be the run's own last one.
      const lastEval = readJsonLines(join(run, 'log.jsonl'))
        .filter((l) => l.type === 'eval')
        .at(-1)!;
      expect(Math.abs(manifest.evaluation.f32.loss - (lastEval.heldOutLoss as number))).toBeLessThanOrEqual(1e-6);
      expect(manifest.evaluation.f32.accuracy).toBe(lastEval.heldOutAccuracy);
      // F16 rounds each weight by at most 2^-11 relative: the loss moves in the third decimal at most here.
      expect(Math.abs(manifest.evaluation.f16.loss - manifest.evaluation.f32.loss)).toBeLessThan(5e-3);

      const weights = parseSafetensors(readFileSync(join(dir, 'model.safetensors')));
      expect(new Set(weights.tensors.map((t) => t.dtype))).toEqual(new Set(['F16']));
      expect(weights.tensors.filter((t) => t.name.startsWith('cls.predictions.')).length).toBeGreaterThan(0);
      expect(weights.metadata).toMatchObject({ format: 'pt', taskscope_step: '6', taskscope_release: 'f16' });
      // Each F16 weight is the F32 one rounded to nearest even.
      const [f32, f16] = await Promise.all([loadBertCheckpoint(dirSource(run)), loadBertCheckpoint(dirSource(dir))]);
      for (const [name, t] of f32.tensors) {
        const h = f16.tensors.get(name)!.data;
        t.data.forEach((x, i) => expect(h[i], name).toBe(f16BitsToF32(f32ToF16Bits(x))));
      }

      const files = folderFiles(dir);
      expect(await verifySha256Sums(readFileSync(join(dir, 'SHA256SUMS'), 'utf8'), files)).toEqual([]);
      const damaged = new Uint8Array(files.get('model.safetensors')!);
      damaged[damaged.length - 1] ^= 1;
      files.set('model.safetensors', damaged);
      files.set('notes.txt', new Uint8Array([1]));
      expect(await verifySha256Sums(readFileSync(join(dir, 'SHA256SUMS'), 'utf8'), files)).toEqual([
        'model.safetensors: SHA-256 differs from SHA256SUMS',
        'notes.txt: not listed in SHA256SUMS',
      ]);

      await expect(release('rel')).rejects.toThrow(`--out: ${dir} is not empty; a release is written into a new folder`);
      // Other text changes the rebuilt corpus, so its held-out figures would not be the run's.
      cpSync(join(root, 'glue'), join(root, 'glue2'), { recursive: true });
      appendFileSync(join(root, 'glue2', 'CoLA', 'train.tsv'), 'src\t1\t\tan extra sentence that was not there .\n');
      await expect(release('rel2', join(root, 'glue2'))).rejects.toThrow(
        /the corpus has \d+ texts, the run's pretrain_state.json says \d+; not the data it was pretrained on/,
      );
      // A weights file from another step than the state file: written only partly.
      const state = JSON.parse(readFileSync(join(run, 'pretrain_state.json'), 'utf8'));
      writeFileSync(join(run, 'pretrain_state.json'), JSON.stringify({ ...state, step: 5 }));
      await expect(release('rel3')).rejects.toThrow(`${run}: model.safetensors is from step 6 but pretrain_state.json from step 5; it was written only partly`);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  }, 120_000);

  it('scoring a checkpoint without its masked-LM head names the missing tensor, leaving no tensors behind', async () => {
    const ckpt = await loadBertCheckpoint(dirSource(TINY));
    const before = tf.memory().numTensors;
    for (const extraTensors of [undefined, new Map()]) {
      await expect(heldOutFigure({ ...ckpt, extraTensors }, [], { seed: 1, maxLen: 16, heldOut: 3, batchSize: 4 })).rejects.toThrow(
        'checkpoint: missing tensor cls.predictions.transform.dense.weight (the masked-LM head)',
      );
    }
    expect(tf.memory().numTensors).toBe(before);
  });

  it('pretrainStages names a malformed log line', () => {
    expect(() => pretrainStages('{"type":"start","resumedAt":null}\n{"type":"step","step":1}\nnot json\n', 'log.jsonl')).toThrow(
      /^log\.jsonl:3: not a JSON line/,
    );
    expect(() => pretrainStages('{"type":"step","step":1}\n', 'log.jsonl')).toThrow('log.jsonl:1: a step record before any start record');
    expect(() => pretrainStages('{"type":"start"}\n{"type":"end","step":2}\n', 'log.jsonl')).toThrow('log.jsonl:2: end record without a numeric wallSeconds');
    // A stage killed before its end record keeps its last step and no wall time.
    expect(pretrainStages('{"type":"start","resumedAt":null,"options":{"steps":"9"}}\n{"type":"step","step":1}\n{"type":"step","step":2}\n', 'l')).toEqual([
      { fromStep: 0, toStep: 2, wallSeconds: null, backend: null, scheduleSteps: 9, heldOut: [] },
    ]);
  });
});
