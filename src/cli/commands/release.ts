import type { Command } from 'commander';
import { existsSync, readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { loadBertCheckpoint } from '../../engine/checkpoint/hfFolder.ts';
import { dirSource, writeFolder } from '../../engine/platform/node/nodeSource.ts';
import { tsvSourceFromPath } from '../../engine/platform/node/nodeFiles.ts';
import { heldOutFigure, pretrainCorpus, type HeldOutSpec } from '../../engine/pretrain/heldOutEvaluation.ts';
import { STATE_FILE } from '../../engine/pretrain/pretrainCheckpoint.ts';
import { heldOutMaskSeed } from '../../engine/pretrain/pretrainMlm.ts';
import {
  RELEASE_MANIFEST,
  RELEASE_SUMS,
  pretrainStages,
  releaseFileEntries,
  releaseModelFiles,
  sha256SumsText,
} from '../../engine/pretrain/releaseCheckpoint.ts';
import { BertTokenizer } from '../../engine/tokenizer/bertTokenizer.ts';
import { initNodeBackend } from '../nodeBackend.ts';

interface ReleaseCliOptions {
  from: string;
  glue: string;
  out: string;
  backend: string;
}

/** What a release needs from the run's pretrain_state.json: the options that fix its held-out set. */
interface RunFacts extends HeldOutSpec {
  step: number;
  options: Record<string, string>;
  corpus: Record<string, unknown>;
}

/** Held-out sequences that disagree by more than this with the run's own logged figure come from other data. */
const LOGGED_TOLERANCE = 1e-4;

async function readRunFacts(from: string): Promise<RunFacts> {
  const file = join(from, STATE_FILE);
  if (!existsSync(file)) throw new Error(`--from: ${file} not found; give a taskscope pretrain --out folder`);
  const state = JSON.parse(await readFile(file, 'utf8')) as {
    step?: unknown;
    seed?: unknown;
    info?: { options?: Record<string, string>; corpus?: Record<string, unknown> };
  };
  const options = state.info?.options ?? {};
  const int = (name: string, x: unknown): number => {
    const n = Number(x);
    if (!Number.isInteger(n)) throw new Error(`${file}: ${name} is missing or not an integer`);
    return n;
  };
  return {
    step: int('step', state.step),
    seed: int('seed', state.seed),
    maxLen: int('info.options.maxLen', options.maxLen),
    batchSize: int('info.options.batchSize', options.batchSize),
    heldOut: int('info.options.heldOut', options.heldOut),
    options,
    corpus: state.info?.corpus ?? {},
  };
}

export function registerReleaseCommand(program: Command) {
  program
    .command('release')
    .description('a pretraining run as a small release checkpoint: F16 weights, its stages and held-out evaluation, SHA-256 sums')
    .requiredOption('--from <dir>', 'a taskscope pretrain --out folder')
    .requiredOption('--glue <dir>', 'the GLUE folder the run was pretrained on (its held-out sequences are rebuilt from it)')
    .requiredOption('--out <dir>', 'new folder for the release (must not exist or be empty)')
    .option('--backend <name>', 'cpu | wasm', 'wasm')
    .action(async (o: ReleaseCliOptions) => {
      const from = resolve(o.from);
      const out = resolve(o.out);
      if (existsSync(out) && readdirSync(out).length > 0) throw new Error(`--out: ${out} is not empty; a release is written into a new folder`);
      const backend = await initNodeBackend(o.backend);
      const run = await readRunFacts(from);
      const stages = pretrainStages(await readFile(join(from, 'log.jsonl'), 'utf8'), join(from, 'log.jsonl'));
      const source = await loadBertCheckpoint(dirSource(from));
      const weightsStep = source.safetensorsMetadata?.taskscope_step;
      if (weightsStep !== String(run.step)) {
        throw new Error(
          `${from}: model.safetensors is from step ${weightsStep ?? 'unknown'} but ${STATE_FILE} from step ${run.step}; it was written only partly`,
        );
      }

      const corpus = await pretrainCorpus(
        await tsvSourceFromPath(o.glue),
        BertTokenizer.fromVocabText(source.vocabText, { doLowerCase: source.doLowerCase }),
        run,
      );
      for (const key of ['texts', 'tokens', 'train', 'heldOut'] as const) {
        const now = key === 'train' || key === 'heldOut' ? corpus[key].length : corpus[key];
        if (run.corpus[key] !== undefined && run.corpus[key] !== now) {
          throw new Error(
            `--glue ${o.glue}: the corpus has ${now} ${key}, the run's ${STATE_FILE} says ${String(run.corpus[key])}; not the data it was pretrained on`,
          );
        }
      }

      const f32 = await heldOutFigure(source, corpus.heldOut, run);
      const logged = stages
        .flatMap((s) => s.heldOut)
        .filter((e) => e.step === run.step)
        .at(-1);
      if (logged && Math.abs(logged.loss - f32.loss) > LOGGED_TOLERANCE) {
        throw new Error(`held-out loss at step ${run.step} is ${f32.loss} here but ${logged.loss} in the run's log.jsonl; not the same held-out data`);
      }
      const modelFiles = releaseModelFiles(source, run.step);
      const modelEntries = await releaseFileEntries(modelFiles);
      await writeFolder(out, modelFiles);
      const f16 = await heldOutFigure(await loadBertCheckpoint(dirSource(out)), corpus.heldOut, run);

      const manifest = {
        format: 'taskscope-release/1',
        step: run.step,
        seed: run.seed,
        options: run.options,
        corpus: run.corpus,
        config: source.config.raw,
        stages,
        evaluation: {
          backend,
          heldOutSequences: corpus.heldOut.length,
          maskedTokens: f16.predicted,
          maskSeed: heldOutMaskSeed(run.seed),
          f16: { loss: f16.loss, accuracy: f16.accuracy },
          f32: { loss: f32.loss, accuracy: f32.accuracy },
          logged: logged ?? null,
        },
        files: modelEntries,
      };
      const manifestBytes = new TextEncoder().encode(`${JSON.stringify(manifest, null, 2)}\n`);
      // The sums cover the model files (hashed once, above) and the manifest.
      const entries = [...modelEntries, ...(await releaseFileEntries(new Map([[RELEASE_MANIFEST, manifestBytes]])))].sort((a, b) => (a.name < b.name ? -1 : 1));
      await writeFolder(
        out,
        new Map<string, string | Uint8Array>([
          [RELEASE_MANIFEST, manifestBytes],
          [RELEASE_SUMS, sha256SumsText(entries)],
        ]),
      );
      const bytes = entries.reduce((s, e) => s + e.bytes, 0);
      process.stdout.write(
        `release of step ${run.step} in ${out}: ${bytes} bytes; held-out MLM loss ${f16.loss.toFixed(4)}, accuracy ${(100 * f16.accuracy).toFixed(2)} % (F16) vs ${f32.loss.toFixed(4)}, ${(100 * f32.accuracy).toFixed(2)} % (F32) on ${f16.predicted} masked tokens\n`,
      );
    });
}
