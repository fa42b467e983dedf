import { beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { useBackend } from '../helpers/nodeBackends.ts';
import { glueDir, repoRoot } from '../helpers/shared.ts';
import { loadBertCheckpoint } from '../../src/engine/checkpoint/hfFolder.ts';
import { parseSafetensors } from '../../src/engine/checkpoint/safetensors.ts';
import { dirSource } from '../../src/engine/platform/node/nodeSource.ts';
import { tsvSourceFromPath } from '../../src/engine/platform/node/nodeFiles.ts';
import { heldOutFigure, pretrainCorpus } from '../../src/engine/pretrain/heldOutEvaluation.ts';
import { verifySha256Sums } from '../../src/engine/pretrain/releaseCheckpoint.ts';
import { BertTokenizer } from '../../src/engine/tokenizer/bertTokenizer.ts';

/** The release checkpoint kept in the repository (docs/results.md, "The release encoder"). */
const RELEASE = join(repoRoot, 'models/taskscope-mlm-l4h128');

beforeAll(async () => {
  await useBackend('wasm');
});

describe('the committed release encoder', () => {
  const files = new Map(readdirSync(RELEASE).map((name) => [name, new Uint8Array(readFileSync(join(RELEASE, name)))]));
  const manifest = JSON.parse(readFileSync(join(RELEASE, 'release.json'), 'utf8'));

  it('is intact (SHA256SUMS), at most 10 MB, and stored in F16', async () => {
    const listed = readFileSync(join(RELEASE, 'SHA256SUMS'), 'utf8');
    // README.md (the recipe) is prose and may be edited; everything else is covered by the sums.
    expect(await verifySha256Sums(listed, new Map([...files].filter(([name]) => name !== 'README.md')))).toEqual([]);
    const bytes = [...files.values()].reduce((s, f) => s + f.length, 0);
    expect(bytes).toBeLessThanOrEqual(10_000_000);
    const weights = parseSafetensors(files.get('model.safetensors')!);
    expect(new Set(weights.tensors.map((t) => t.dtype))).toEqual(new Set(['F16']));
    expect(weights.metadata?.taskscope_step).toBe(String(manifest.step));
  });

  it('scores on the rebuilt held-out GLUE sequences what its release.json says (F16 weights, wasm)', async () => {
    const ckpt = await loadBertCheckpoint(dirSource(RELEASE));
    const spec = {
      seed: manifest.seed,
      maxLen: Number(manifest.options.maxLen),
      heldOut: Number(manifest.options.heldOut),
      batchSize: Number(manifest.options.batchSize),
    };
    const tokenizer = BertTokenizer.fromVocabText(ckpt.vocabText, { doLowerCase: ckpt.doLowerCase });
    const corpus = await pretrainCorpus(await tsvSourceFromPath(glueDir), tokenizer, spec);
    expect([corpus.texts, corpus.tokens, corpus.train.length]).toEqual([manifest.corpus.texts, manifest.corpus.tokens, manifest.corpus.train]);
    const r = await heldOutFigure(ckpt, corpus.heldOut, spec);
    expect(r.predicted).toBe(manifest.evaluation.maskedTokens);
    // Same backend and data as when it was released: equal up to float32 summation order (stated tolerance 1e-5).
    expect(Math.abs(r.loss - manifest.evaluation.f16.loss)).toBeLessThanOrEqual(1e-5);
    expect(Math.abs(r.accuracy - manifest.evaluation.f16.accuracy)).toBeLessThanOrEqual(1 / r.predicted);
  }, 120_000);
});
