import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FIXTURE_NAMES, fixtureModelDir, loadFixture } from '../helpers/shared.ts';
import { parseBertConfig } from '../../src/engine/checkpoint/bertConfig.ts';
import { loadBertCheckpoint, saveBertCheckpoint } from '../../src/engine/checkpoint/hfFolder.ts';
import { filesSource } from '../../src/engine/checkpoint/modelSource.ts';
import { dirSource } from '../../src/engine/platform/node/nodeSource.ts';
import { parseSafetensors, serializeSafetensors } from '../../src/engine/checkpoint/safetensors.ts';
import { expectedBertTensorShapes } from '../../src/engine/checkpoint/tensorNames.ts';
import type { NamedTensor } from '../../src/engine/checkpoint/types.ts';
import { expectRejects, expectThrows, firstBitDifference, readFixtureFile, textOf } from '../helpers/checkpointAsserts.ts';

/** The tiny independent reader the fixture values are checked against: F32 only, no validation. */
function manualF32Read(bytes: Uint8Array): Map<string, { shape: number[]; data: Float32Array }> {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  const header = JSON.parse(textOf(bytes.subarray(8, 8 + n)));
  const out = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const [name, info] of Object.entries<any>(header)) {
    if (name === '__metadata__') continue;
    const [b0, b1] = info.data_offsets;
    out.set(name, { shape: info.shape, data: new Float32Array(bytes.slice(8 + n + b0, 8 + n + b1).buffer) });
  }
  return out;
}
describe('loading the fixture checkpoints from disk', () => {
  for (const name of FIXTURE_NAMES) {
    it(`${name}: config, tokenizer settings and every tensor bit-identical to an independent read`, async () => {
      const fx = loadFixture(name);
      const ckpt = await loadBertCheckpoint(dirSource(fixtureModelDir(name)));
      const c = ckpt.config;
      expect(ckpt.origin).toBe(fixtureModelDir(name));
      expect([c.vocabSize, c.hiddenSize, c.numHiddenLayers, c.numAttentionHeads, c.intermediateSize]).toEqual([
        fx.config.vocab_size,
        fx.config.hidden_size,
        fx.config.num_hidden_layers,
        fx.config.num_attention_heads,
        fx.config.intermediate_size,
      ]);
      expect([c.maxPositionEmbeddings, c.typeVocabSize, c.layerNormEps, c.hiddenAct]).toEqual([
        fx.config.max_position_embeddings,
        fx.config.type_vocab_size,
        1e-12,
        'gelu',
      ]);
      expect(ckpt.doLowerCase).toBe(fx.do_lower_case);
      expect(ckpt.vocabText.split('\n').filter((l) => l !== '').length).toBe(fx.config.vocab_size);
      expect(ckpt.safetensorsMetadata).toEqual({ format: 'pt', generator: 'refbert.py --random', seed: '0' });
      expect(ckpt.extraTensors?.size).toBe(0);

      const expected = expectedBertTensorShapes(c);
      expect(ckpt.tensors.size).toBe(5 + 16 * c.numHiddenLayers + 2);
      expect([...ckpt.tensors.keys()].sort()).toEqual([...expected.keys()].sort());
      const manual = manualF32Read(readFixtureFile(name, 'model.safetensors'));
      expect(manual.size).toBe(ckpt.tensors.size);
      for (const [file, t] of manual) {
        const mine = ckpt.tensors.get(file.replace(/^bert\./, ''))!;
        expect(mine.shape).toEqual(t.shape);
        expect(mine.dtype).toBe('F32');
        expect(firstBitDifference(mine.data, t.data)).toBe(-1);
      }
    });
  }

  it('random-tiny: values printed by numpy (refbert.read_safetensors) are there, HF [out, in] layout kept', async () => {
    const t = (await loadBertCheckpoint(dirSource(fixtureModelDir('random-tiny')))).tensors;
    const word = t.get('embeddings.word_embeddings.weight')!;
    expect(Array.from(word.data.subarray(0, 3))).toEqual([0.06286510825157166, -0.06605242937803268, 0.3202113211154938]);
    expect(Array.from(word.data.subarray(200 * 32 - 2))).toEqual([0.9519663453102112, -0.27840736508369446]);
    expect(Array.from(t.get('encoder.layer.1.attention.self.key.bias')!.data.subarray(30))).toEqual([0.017338667064905167, -0.13528916239738464]);
    const wi = t.get('encoder.layer.0.intermediate.dense.weight')!;
    expect(wi.shape).toEqual([64, 32]);
    expect(Array.from(wi.data.subarray(63 * 32, 63 * 32 + 2))).toEqual([-0.1415724903345108, -0.11337289959192276]);
    expect(t.get('pooler.dense.weight')!.data[32 * 32 - 1]).toBe(-0.24077291786670685);
  });

  it('bert-tiny-arch-random: values printed by numpy, real 30522-token vocab', async () => {
    const ckpt = await loadBertCheckpoint(dirSource(fixtureModelDir('bert-tiny-arch-random')));
    const word = ckpt.tensors.get('embeddings.word_embeddings.weight')!;
    expect(word.shape).toEqual([30522, 128]);
    expect(Array.from(word.data.subarray(30521 * 128, 30521 * 128 + 2))).toEqual([0.30755987763404846, -0.006496378220617771]);
    expect(ckpt.tensors.get('encoder.layer.1.output.LayerNorm.weight')!.data[127]).toBe(0.9717744588851929);
    expect(ckpt.vocabText.split('\n')[101]).toBe('[CLS]');
  });
});

/** The random-tiny folder as picked files, with the weights replaced. */
async function pickedWith(tensors: NamedTensor[], extraFiles: Record<string, Blob> = {}) {
  const dir = fixtureModelDir('random-tiny');
  const files = new Map<string, Blob>();
  for (const name of ['config.json', 'vocab.txt', 'tokenizer_config.json']) files.set(`random-tiny/${name}`, new Blob([readFileSync(join(dir, name))]));
  files.set('random-tiny/model.safetensors', new Blob([serializeSafetensors(tensors)]));
  for (const [k, v] of Object.entries(extraFiles)) files.set(k, v);
  return filesSource(files);
}

describe('checkpoint validation', () => {
  const fixtureTensors = () => parseSafetensors(readFixtureFile('random-tiny', 'model.safetensors')).tensors;

  it('missing tensor', async () => {
    const tensors = fixtureTensors().filter((t) => t.name !== 'bert.encoder.layer.1.attention.self.key.weight');
    await expectRejects(loadBertCheckpoint(await pickedWith(tensors)), 'model.safetensors: missing tensor encoder.layer.1.attention.self.key.weight');
  });

  it('wrong shape', async () => {
    const tensors = fixtureTensors().map((t) => (t.name === 'bert.encoder.layer.0.intermediate.dense.weight' ? { ...t, shape: [32, 64] } : t));
    await expectRejects(
      loadBertCheckpoint(await pickedWith(tensors)),
      'model.safetensors: tensor encoder.layer.0.intermediate.dense.weight has shape [32,64], expected [64,32] from config.json',
    );
  });

  it('layers beyond num_hidden_layers, duplicate names', async () => {
    const extra = fixtureTensors().map((t) => ({ ...t, name: t.name.replace('layer.1.', 'layer.2.') }));
    await expectRejects(
      loadBertCheckpoint(await pickedWith([...fixtureTensors(), ...extra.filter((t) => t.name.includes('layer.2.'))])),
      'model.safetensors: tensor encoder.layer.2.attention.output.LayerNorm.bias is for layer 2, but config.json has num_hidden_layers 2',
    );
    const dup = fixtureTensors();
    dup.push({ ...dup.find((t) => t.name === 'bert.pooler.dense.bias')!, name: 'pooler.dense.bias' });
    await expectRejects(
      loadBertCheckpoint(await pickedWith(dup)),
      'model.safetensors: tensor pooler.dense.bias appears twice (as bert.pooler.dense.bias and pooler.dense.bias)',
    );
  });

  it('accepts no prefix, LayerNorm gamma/beta, and keeps cls.* and position_ids as extra tensors', async () => {
    const tensors = fixtureTensors().map((t) => ({ ...t, name: t.name.replace(/^bert\./, '').replace(/LayerNorm\.weight$/, 'LayerNorm.gamma') }));
    tensors.push({ name: 'cls.predictions.bias', shape: [200], dtype: 'F32', data: new Float32Array(200).fill(0.5) });
    tensors.push({ name: 'cls.predictions.transform.LayerNorm.beta', shape: [32], dtype: 'F32', data: new Float32Array(32) });
    tensors.push({ name: 'bert.embeddings.position_ids', shape: [1, 64], dtype: 'I64', data: Float32Array.from({ length: 64 }, (_, i) => i) });
    const ckpt = await loadBertCheckpoint(await pickedWith(tensors));
    expect(ckpt.origin).toBe('random-tiny');
    expect(ckpt.tensors.get('encoder.layer.0.output.LayerNorm.weight')!.data[0]).toBe(
      fixtureTensors().find((t) => t.name === 'bert.encoder.layer.0.output.LayerNorm.weight')!.data[0],
    );
    expect([...ckpt.extraTensors!.keys()].sort()).toEqual(['cls.predictions.bias', 'cls.predictions.transform.LayerNorm.bias', 'embeddings.position_ids']);
    expect(ckpt.extraTensors!.get('embeddings.position_ids')!.data[63]).toBe(63);
  });

  it('pytorch_model.bin only: says it is not supported', async () => {
    const dir = fixtureModelDir('random-tiny');
    const files = new Map<string, Blob>([
      ['m/config.json', new Blob([readFileSync(join(dir, 'config.json'))])],
      ['m/vocab.txt', new Blob([readFileSync(join(dir, 'vocab.txt'))])],
      ['m/pytorch_model.bin', new Blob([new Uint8Array(4)])],
    ]);
    await expectRejects(
      loadBertCheckpoint(filesSource(files)),
      'model.safetensors: not found in m; the folder has pytorch_model.bin, a PyTorch pickle, which is not supported. Convert it in Python with ' +
        '`BertModel.from_pretrained(dir).save_pretrained(out, safe_serialization=True)` and load the result',
    );
  });

  it('vocabulary hook runs before the weights are read', async () => {
    const seen: number[] = [];
    const source = dirSource(fixtureModelDir('random-tiny'));
    await expectRejects(
      loadBertCheckpoint(source, {
        validateVocab: (text, config) => {
          seen.push(text.split('\n').length - 1, config.vocabSize);
          throw new Error('vocab.txt: rejected');
        },
        onProgress: () => seen.push(-1),
      }),
      'vocab.txt: rejected',
    );
    expect(seen).toEqual([200, 200]);
  });
});

describe('saveBertCheckpoint', () => {
  it('writes an HF folder that loads back bit-identically (F32), with BertModel names and format=pt', async () => {
    const ckpt = await loadBertCheckpoint(dirSource(fixtureModelDir('random-tiny')));
    const files = saveBertCheckpoint(ckpt);
    expect([...files.keys()].sort()).toEqual(['config.json', 'model.safetensors', 'tokenizer_config.json', 'vocab.txt']);
    const st = parseSafetensors(files.get('model.safetensors')!);
    expect(st.metadata).toEqual({ format: 'pt' });
    expect(st.tensors.every((t) => !t.name.startsWith('bert.') && t.dtype === 'F32')).toBe(true);
    expect(JSON.parse(textOf(files.get('tokenizer_config.json')!))).toEqual({ tokenizer_class: 'BertTokenizer', model_max_length: 64, do_lower_case: true });
    expect(textOf(files.get('vocab.txt')!)).toBe(ckpt.vocabText);
    const back = await loadBertCheckpoint(filesSource(new Map([...files].map(([k, v]) => [k, new Blob([v])]))));
    expect(back.config).toEqual(ckpt.config);
    for (const [name, t] of ckpt.tensors) expect(firstBitDifference(back.tensors.get(name)!.data, t.data)).toBe(-1);
  });

  it('uses the bert. prefix when the MLM head is saved, keeps integer buffers integer, writes F16', () => {
    const ckpt = parseSafetensors(readFixtureFile('random-tiny', 'model.safetensors')).tensors;
    const config = parseBertConfig(textOf(readFixtureFile('random-tiny', 'config.json')));
    const files = saveBertCheckpoint(
      {
        config,
        vocabText: 'x\n',
        doLowerCase: false,
        tensors: ckpt,
        extraTensors: [
          { name: 'cls.predictions.bias', shape: [200], dtype: 'F32', data: new Float32Array(200).fill(0.1) },
          { name: 'embeddings.position_ids', shape: [1, 64], dtype: 'I64', data: Float32Array.from({ length: 64 }, (_, i) => i) },
        ],
        extra: { 'tokenizer_config.json': '{"do_lower_case": true, "strip_accents": null}', 'special_tokens_map.json': '{}' },
      },
      { dtype: 'F16' },
    );
    const st = parseSafetensors(files.get('model.safetensors')!).tensors;
    const dtypeOf = Object.fromEntries(st.map((t) => [t.name, t.dtype]));
    expect(dtypeOf['bert.encoder.layer.1.output.dense.weight']).toBe('F16');
    expect(dtypeOf['cls.predictions.bias']).toBe('F16');
    expect(dtypeOf['bert.embeddings.position_ids']).toBe('I64');
    expect(st.filter((t) => !t.name.startsWith('bert.')).map((t) => t.name)).toEqual(['cls.predictions.bias']);
    expect(JSON.parse(textOf(files.get('tokenizer_config.json')!))).toEqual({
      tokenizer_class: 'BertTokenizer',
      model_max_length: 64,
      do_lower_case: false,
      strip_accents: null,
    });
    expect(textOf(files.get('special_tokens_map.json')!)).toBe('{}');
    expectThrows(
      () => saveBertCheckpoint({ config, vocabText: '', doLowerCase: true, tensors: ckpt.slice(1) }),
      `saveBertCheckpoint: missing tensor ${ckpt[0].name.replace('bert.', '')}`,
    );
  });
});

describe('vocab checked at load time', () => {
  it('rejects a vocab missing [SEP] before reading the weights, naming the file', async () => {
    const { dirSource } = await import('../../src/engine/platform/node/nodeSource.ts');
    const { loadBertCheckpoint } = await import('../../src/engine/checkpoint/hfFolder.ts');
    const { mkdtempSync, cpSync, readFileSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { fixtureModelDir } = await import('../helpers/shared.ts');
    const dir = mkdtempSync(join(tmpdir(), 'ts-vocab-'));
    cpSync(fixtureModelDir('random-tiny'), dir, { recursive: true });
    const lines = readFileSync(join(dir, 'vocab.txt'), 'utf8')
      .split('\n')
      .map((t) => (t === '[SEP]' ? '[XEP]' : t));
    writeFileSync(join(dir, 'vocab.txt'), lines.join('\n'));
    const src = dirSource(dir);
    await expect(loadBertCheckpoint(src)).rejects.toThrow(`${src.describe()}/vocab.txt: missing special token [SEP]`);
  });
});
