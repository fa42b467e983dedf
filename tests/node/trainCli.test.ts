import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assetsDir, glueDir } from '../helpers/shared.ts';
import { runTrainCli } from '../../src/cli/commands/train.ts';
import { loadBertCheckpoint } from '../../src/engine/checkpoint/hfFolder.ts';
import { dirSource } from '../../src/engine/platform/node/nodeSource.ts';

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'taskscope-train-cli-'));
});
afterAll(() => rm(tmp, { recursive: true, force: true }));

describe('taskscope train', () => {
  it('trains on the shared GLUE files (RTE 48 rows + STS-B 48 rows) and writes log.jsonl, checkpoint/ and metrics.json', async () => {
    const config = join(tmp, 'exp.json');
    await writeFile(
      config,
      JSON.stringify({
        name: 'cli-test',
        tasks: [
          { name: 'RTE', maxTrainRows: 48 },
          { name: 'STS-B', maxTrainRows: 48 },
        ],
        model: { kind: 'random', layers: 1, hidden: 16, heads: 2, intermediate: 32, vocab: 'bert-base-uncased' },
        data: { kind: 'glue-dir', path: glueDir },
        epochs: 1,
        batchSize: 16,
        evalBatchSize: 256,
        maxLength: 32,
        seed: 3,
      }),
    );
    const out = join(tmp, 'run');
    const lines: string[] = [];
    const code = await runTrainCli(
      { config, out, backend: 'wasm', vocab: resolve(assetsDir, 'models/bert-tiny-uncased/vocab.txt'), cache: join(tmp, 'shards'), progress: false },
      (l) => lines.push(l),
    );
    expect(code).toBe(0);
    expect(lines).toContain('RTE: 48 training rows (of 2490), 277 dev rows');
    expect(lines).toContain('STS-B: 48 training rows (of 5749), 1500 dev rows');

    const log = (await readFile(join(out, 'log.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const steps = log.filter((l) => l.type === 'step');
    expect(steps.map((s) => s.step)).toEqual([1, 2, 3, 4, 5, 6]); // 3 + 3 batches of 16
    for (const s of steps) {
      expect(Number.isFinite(s.loss) && s.lr >= 0 && s.examplesPerSec > 0 && s.tokensPerSec > 0).toBe(true);
      expect(['RTE', 'STS-B']).toContain(s.task);
    }
    const evals = log.filter((l) => l.type === 'eval');
    expect(evals.length).toBe(1);
    expect(evals[0].tasks.map((t: { task: string; rows: number }) => `${t.task}:${t.rows}`)).toEqual(['RTE:277', 'STS-B:1500']);

    const metrics = JSON.parse(await readFile(join(out, 'metrics.json'), 'utf8'));
    expect(metrics).toMatchObject({ status: 'done', step: 6, totalSteps: 6, backend: 'wasm', seed: 3 });
    expect(metrics.evaluation.glueScore).toBe(evals[0].glueScore);
    // L1 H16 I32 over 30,522 words: (30,522 + 512 + 2)·16 + 2·16 embeddings, 2,224 per layer, 272 pooler.
    const parameters = {
      variant: 'mtdnn',
      sharedEncoder: 499_104,
      variantShared: 0,
      total: 499_104 + 34 + 17,
      tasks: [
        { task: 'RTE', headKind: 'classification', variant: 0, head: 34, total: 34 },
        { task: 'STS-B', headKind: 'regression', variant: 0, head: 17, total: 17 },
      ],
    };
    expect(metrics.parameters).toEqual(parameters);
    expect(lines).toContain(
      'parameters (mtdnn): shared encoder 499,104 + variant shared 0; per task RTE 34 (variant 0 + classification head 34), STS-B 17 (variant 0 + regression head 17); total 499,155',
    );

    expect((await readdir(join(out, 'checkpoint'))).sort()).toEqual([
      'config.json',
      'experiment.json',
      'heads.json',
      'metrics.json',
      'model.safetensors',
      'tokenizer_config.json',
      'vocab.txt',
    ]);
    const ckpt = await loadBertCheckpoint(dirSource(join(out, 'checkpoint')));
    expect(ckpt.config).toMatchObject({ vocabSize: 30522, hiddenSize: 16, numHiddenLayers: 1 });
    expect(ckpt.tensors.get('embeddings.word_embeddings.weight')!.shape).toEqual([30522, 16]);
    expect([...ckpt.tensors.values()].reduce((a, t) => a + t.data.length, 0)).toBe(parameters.sharedEncoder);
  });

  it('a bad config names the file and the field', async () => {
    const config = join(tmp, 'bad.json');
    await writeFile(config, JSON.stringify({ tasks: [{ name: 'RTE' }], batchSize: 0 }));
    await expect(runTrainCli({ config, out: join(tmp, 'bad'), backend: 'cpu' })).rejects.toThrow(
      `${config}: invalid experiment config\n  batchSize: Invalid value: Expected >=1 but received 0`,
    );
  });
});
