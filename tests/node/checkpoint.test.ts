import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { FIXTURE_NAMES, fixtureModelDir, loadFixture, type FixtureName } from '../helpers/shared.ts';
import { parseBertConfig, serializeBertConfig } from '../../src/engine/checkpoint/bertConfig.ts';
import { decodeBf16, decodeF16, encodeBf16, encodeF16, f16BitsToF32 } from '../../src/engine/checkpoint/halfFloat.ts';
import { loadBertCheckpoint, saveBertCheckpoint } from '../../src/engine/checkpoint/hfFolder.ts';
import { filesSource, urlSource } from '../../src/engine/checkpoint/modelSource.ts';
import { dirSource } from '../../src/engine/platform/node/nodeSource.ts';
import { parseSafetensors, serializeSafetensors } from '../../src/engine/checkpoint/safetensors.ts';
import { expectedBertTensorShapes } from '../../src/engine/checkpoint/tensorNames.ts';
import { parseDoLowerCase } from '../../src/engine/checkpoint/tokenizerConfig.ts';
import type { NamedTensor } from '../../src/engine/checkpoint/types.ts';

const readFixtureFile = (name: FixtureName, file: string) => new Uint8Array(readFileSync(join(fixtureModelDir(name), file)));
const textOf = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
const bitsOf = (a: Float32Array) => new Uint32Array(a.buffer, a.byteOffset, a.length);
/** Index of the first float whose bits differ (-1: identical). Not toEqual: that takes seconds on 4 M values. */
function firstBitDifference(a: Float32Array, b: Float32Array): number {
  const x = bitsOf(a);
  const y = bitsOf(b);
  if (x.length !== y.length) return Math.min(x.length, y.length);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return i;
  return -1;
}

/** A safetensors file from a hand-written header (no validation: for malformed inputs). */
function rawSafetensors(header: unknown, data: Uint8Array, headerLength?: number): Uint8Array {
  const json = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerLength ?? json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

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

function python(script: string, input?: string): string {
  return execFileSync('python3', ['-c', script], { input, encoding: 'utf8' });
}

/** Exact message, not a substring. */
function expectThrows(fn: () => unknown, message: string) {
  expect(fn).toThrow(message);
  try {
    fn();
  } catch (e) {
    expect((e as Error).message).toBe(message);
  }
}

async function expectRejects(p: Promise<unknown>, message: string) {
  await expect(p).rejects.toThrow(message);
  await p.catch((e: Error) => expect(e.message).toBe(message));
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

describe('safetensors round trip', () => {
  it('parse → serialize → parse is bit-identical, and re-serializing gives identical bytes', () => {
    const original = readFixtureFile('random-tiny', 'model.safetensors');
    const first = parseSafetensors(original);
    const bytes = serializeSafetensors(first.tensors, 'stored', first.metadata ?? undefined);
    const second = parseSafetensors(bytes);
    expect(second.metadata).toEqual(first.metadata);
    const byName = new Map(second.tensors.map((t) => [t.name, t]));
    expect(byName.size).toBe(first.tensors.length);
    for (const t of first.tensors) {
      expect(byName.get(t.name)!.shape).toEqual(t.shape);
      expect(firstBitDifference(byName.get(t.name)!.data, t.data)).toBe(-1);
    }
    expect(Buffer.from(serializeSafetensors(second.tensors, 'stored', second.metadata ?? undefined)).equals(Buffer.from(bytes))).toBe(true);
    const changed = first.tensors[0].data.slice();
    changed[3] = -changed[3];
    expect(firstBitDifference(changed, first.tensors[0].data)).toBe(3); // the comparison above can fail
    // Same payload as the Python writer: only the header layout may differ.
    expect(bytes.length - 8 - Number(new DataView(bytes.buffer).getBigUint64(0, true))).toBe(111088 - 8 - 4200);
  });

  it('writes the reference layout: 8-byte aligned header padded with spaces, metadata, sorted keys, contiguous offsets', () => {
    const t = (name: string, shape: number[], values: number[]): NamedTensor => ({ name, shape, dtype: 'F32', data: Float32Array.from(values) });
    const bytes = serializeSafetensors([t('b', [3], [1, 2, 3]), t('a', [1, 2], [4, 5])], 'F32', { format: 'pt' });
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    const headerText = textOf(bytes.subarray(8, 8 + n));
    const json =
      '{"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[1,2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[3],"data_offsets":[8,20]}}';
    expect(n % 8).toBe(0);
    expect(headerText).toBe(json + ' '.repeat(n - json.length));
    expect(n - json.length).toBeLessThan(8);
    expect(Array.from(new Float32Array(bytes.slice(8 + n).buffer))).toEqual([4, 5, 1, 2, 3]);
  });

  it('writes F16 / BF16 / per-tensor dtypes and reads them back', () => {
    const data = Float32Array.from([1, -2.5, 0.1, 65504, 1e-7]);
    const tensors: NamedTensor[] = [
      { name: 'x', shape: [5], dtype: 'F32', data },
      { name: 'ids', shape: [1, 3], dtype: 'I64', data: Float32Array.from([0, 1, 511]) },
    ];
    const f16 = parseSafetensors(serializeSafetensors(tensors, { x: 'F16' })).tensors;
    expect(f16.map((t) => [t.name, t.dtype])).toEqual([
      ['ids', 'I64'],
      ['x', 'F16'],
    ]);
    // 0.1 → 0x2E66 = 0.0999755859375; 1e-7 → subnormal 2 × 2^-24
    expect(Array.from(f16[1].data)).toEqual([1, -2.5, 0.0999755859375, 65504, 2 * 2 ** -24]);
    expect(Array.from(f16[0].data)).toEqual([0, 1, 511]);
    const bf16 = parseSafetensors(serializeSafetensors(tensors.slice(0, 1), 'BF16')).tensors[0];
    // 0.1 = 0x3DCCCCCD → 0x3DCD = 0.10009765625; 65504 = 0x477FE000 → 0x4780 = 65536
    expect(Array.from(bf16.data)).toEqual([1, -2.5, 0.10009765625, 65536, Math.fround(1.0011717677116394e-7)]);
    expectThrows(
      () => serializeSafetensors([{ name: 'ids', shape: [1], dtype: 'I64', data: Float32Array.from([0.5]) }], 'stored'),
      'serializeSafetensors: tensor ids holds the non-integer 0.5 at index 0, cannot write it as I64',
    );
    expectThrows(
      () => serializeSafetensors([{ name: 'x', shape: [2, 2], dtype: 'F32', data }]),
      'serializeSafetensors: tensor x has 5 values, but shape [2,2] needs 4',
    );
  });
});

describe('F16 and BF16', () => {
  it('decodes hand-built F16 bytes exactly', () => {
    const words = Uint16Array.from([0x3c00, 0xc100, 0x7bff, 0x0001, 0x03ff, 0x0400, 0x8000, 0x7c00, 0xfc00, 0x7e00, 0x3555]);
    const v = decodeF16(words);
    expect(Array.from(v.subarray(0, 6))).toEqual([1, -2.5, 65504, 2 ** -24, 1023 * 2 ** -24, 2 ** -14]);
    expect(Object.is(v[6], -0)).toBe(true);
    expect([v[7], v[8]]).toEqual([Infinity, -Infinity]);
    expect(Number.isNaN(v[9])).toBe(true);
    expect(v[10]).toBe(0.333251953125);
  });

  it('decodes hand-built BF16 bytes exactly', () => {
    const v = decodeBf16(Uint16Array.from([0x3f80, 0xc020, 0x4049, 0x0001, 0x8000, 0x7f80, 0xff80, 0x7fc0, 0x7f7f]));
    expect(Array.from(v.subarray(0, 4))).toEqual([1, -2.5, 3.140625, 2 ** -133]);
    expect(Object.is(v[4], -0)).toBe(true);
    expect([v[5], v[6]]).toEqual([Infinity, -Infinity]);
    expect(Number.isNaN(v[7])).toBe(true);
    expect(v[8]).toBe(3.3895313892515355e38);
  });

  // Edge cases (ties, overflow, subnormals) plus values spread over the whole float16 range and beyond.
  const hard = [
    0,
    -0,
    1,
    -2.5,
    1 + 2 ** -11,
    1 + 3 * 2 ** -11,
    65504,
    65519,
    65520,
    -65520,
    1e10,
    2 ** -24,
    2 ** -25,
    -(2 ** -25),
    2 ** -25 * 1.5,
    3 * 2 ** -25,
    2 ** -14 - 2 ** -25,
    2 ** -26,
    1e-10,
    0.1,
    1 / 3,
    Infinity,
    -Infinity,
  ];
  function spread(n: number): number[] {
    let s = 12345;
    const rand = () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32;
    return Array.from({ length: n }, () => (rand() < 0.5 ? -1 : 1) * 2 ** (rand() * 48 - 30) * (1 + rand()));
  }
  const values = Float32Array.from([...hard, ...spread(3000)]);

  it('encodes float32 → F16 exactly like numpy astype(float16) (round to nearest even)', () => {
    // Passed as float32 bit patterns: JSON has no -0, Infinity or NaN.
    const out = python(
      'import json,sys,numpy as np; v=np.array(json.load(sys.stdin),dtype=np.uint32).view(np.float32)\n' +
        'with np.errstate(over="ignore"): print(json.dumps(v.astype(np.float16).view(np.uint16).tolist()))',
      JSON.stringify(Array.from(bitsOf(values))),
    );
    expect(Array.from(encodeF16(values))).toEqual(JSON.parse(out));
    expect(encodeF16(Float32Array.from([NaN]))[0] & 0x7e00).toBe(0x7e00);
  });

  it('encodes float32 → BF16 as the nearest bfloat16, ties to even', () => {
    const enc = encodeBf16(values);
    const dec = decodeBf16(enc);
    for (let i = 0; i < values.length; i++) {
      const x = values[i];
      if (!Number.isFinite(x)) {
        expect(dec[i]).toBe(x);
        continue;
      }
      const err = Math.abs(x - dec[i]);
      // Bit patterns next to ±0 wrap around to NaN: only numeric neighbours count.
      for (const neighbour of decodeBf16(Uint16Array.from([enc[i] - 1, enc[i] + 1])).filter((v) => !Number.isNaN(v))) {
        const other = Math.abs(x - neighbour);
        expect(err <= other).toBe(true);
        if (err === other && err > 0) expect(enc[i] & 1).toBe(0);
      }
    }
    expect(decodeBf16(encodeBf16(Float32Array.from([NaN])))[0]).toBeNaN();
    expect(f16BitsToF32(0x7bff)).toBe(65504);
  });

  it('parses a mixed-dtype file written by Python (F16, BF16, F32, F64, I64, I32) to the values numpy holds', () => {
    const dir = mkdtempSync(join(tmpdir(), 'taskscope-st-'));
    try {
      const file = join(dir, 'mixed.safetensors');
      const out = python(
        `
import json, struct, sys, numpy as np
rng = np.random.default_rng(7)
f16 = np.concatenate([[1.0, -2.5, 65504.0, 2.0**-24, 2.0**-14 - 2.0**-24, -0.0, np.inf, -np.inf, np.nan], rng.normal(0, 3, 55)]).astype(np.float16).reshape(8, 8)
f32 = rng.normal(0, 1, (3, 5)).astype(np.float32)
bf_bits = (rng.normal(0, 1, 12).astype(np.float32).view(np.uint32) >> 16).astype(np.uint16)
bf = (bf_bits.astype(np.uint32) << 16).view(np.float32).reshape(2, 6)
f64 = rng.normal(0, 1, 4)
pos = np.arange(12, dtype=np.int64).reshape(1, 12)
i32 = np.array([-3, 0, 7], dtype=np.int32)
items = [("z.half", "F16", f16, f16.tobytes()), ("a.single", "F32", f32, f32.tobytes()), ("m.brain", "BF16", bf, bf_bits.tobytes()),
         ("embeddings.position_ids", "I64", pos, pos.tobytes()), ("d.double", "F64", f64, f64.tobytes()), ("i.int", "I32", i32, i32.tobytes()),
         ("s.scalar", "F32", np.float32(4.5), np.float32(4.5).tobytes())]
header, blobs, off = {"__metadata__": {"format": "pt"}}, [], 0
for name, dt, arr, b in items:  # deliberately unsorted, and no 8-byte alignment of the header
    header[name] = {"dtype": dt, "shape": list(np.shape(arr)), "data_offsets": [off, off + len(b)]}
    blobs.append(b); off += len(b)
hb = json.dumps(header).encode()
open(sys.argv[1], "wb").write(struct.pack("<Q", len(hb)) + hb + b"".join(blobs))
enc = lambda a: [x if np.isfinite(x) else str(x) for x in np.asarray(a, np.float64).ravel().tolist()]
print(json.dumps({name: {"shape": list(np.shape(arr)), "values": enc(arr)} for name, _, arr, _ in items}))
`.replace('sys.argv[1]', JSON.stringify(file)),
      );
      const expected: Record<string, { shape: number[]; values: (number | string)[] }> = JSON.parse(out);
      const parsed = parseSafetensors(new Uint8Array(readFileSync(file)), 'mixed.safetensors');
      expect(parsed.metadata).toEqual({ format: 'pt' });
      expect(parsed.tensors.map((t) => `${t.name}:${t.dtype}`)).toEqual([
        'z.half:F16',
        'a.single:F32',
        'm.brain:BF16',
        'embeddings.position_ids:I64',
        'd.double:F64',
        'i.int:I32',
        's.scalar:F32',
      ]);
      for (const t of parsed.tensors) {
        const e = expected[t.name];
        expect(t.shape).toEqual(e.shape);
        const want = e.values.map((x) => (typeof x === 'string' ? Number(x.replace('inf', 'Infinity')) : Math.fround(x)));
        expect(Array.from(t.data)).toEqual(want);
      }
      expect(Object.is(parsed.tensors[0].data[5], -0)).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('safetensors errors name the file and the tensor', () => {
  const f32 = (n: number) => new Uint8Array(new Float32Array(n).buffer);
  const q = 'encoder.layer.0.attention.self.query.weight';

  it('truncated file', () => {
    const bytes = readFixtureFile('random-tiny', 'model.safetensors').slice(0, 110000);
    expectThrows(() => parseSafetensors(bytes), 'model.safetensors: file is 110000 bytes, tensor bert.pooler.dense.weight needs bytes 106992..111088');
    const small = rawSafetensors({ [q]: { dtype: 'F32', shape: [32, 32], data_offsets: [0, 4096] } }, f32(10));
    const start = small.length - 40;
    expectThrows(() => parseSafetensors(small), `model.safetensors: file is ${small.length} bytes, tensor ${q} needs bytes ${start}..${start + 4096}`);
  });

  it('header longer than the file, file shorter than 8 bytes, header not JSON', () => {
    expectThrows(
      () => parseSafetensors(rawSafetensors('{}', new Uint8Array(0), 1000)),
      'model.safetensors: header length 1000 runs past the end of the file (10 bytes)',
    );
    expectThrows(() => parseSafetensors(new Uint8Array(5), 'x.safetensors'), 'x.safetensors: file is 5 bytes, too short for the 8-byte header length');
    expect(() => parseSafetensors(rawSafetensors('<html>Not Found</html>', new Uint8Array(0)))).toThrow(/^model\.safetensors: header is not valid JSON \(/);
    expectThrows(() => parseSafetensors(rawSafetensors('[1,2]', new Uint8Array(0))), 'model.safetensors: header is not a JSON object');
  });

  it('unknown dtype', () => {
    const bytes = rawSafetensors({ w: { dtype: 'F8_E4M3', shape: [2], data_offsets: [0, 2] } }, new Uint8Array(2));
    expectThrows(() => parseSafetensors(bytes), 'model.safetensors: tensor w has unsupported dtype "F8_E4M3" (supported: F32, F16, BF16, F64, I64, I32)');
  });

  it('data_offsets inconsistent with shape × dtype, invalid offsets, overlapping tensors, bad metadata', () => {
    const bad = rawSafetensors({ [q]: { dtype: 'F16', shape: [4, 8], data_offsets: [0, 128] } }, f32(32));
    expectThrows(() => parseSafetensors(bad), `model.safetensors: tensor ${q} has data_offsets [0,128] (128 bytes), but shape [4,8] in F16 needs 64 bytes`);
    const reversed = rawSafetensors({ w: { dtype: 'F32', shape: [0], data_offsets: [8, 4] } }, f32(2));
    expectThrows(() => parseSafetensors(reversed), 'model.safetensors: tensor w has invalid data_offsets [8,4]');
    const shape = rawSafetensors({ w: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }, f32(1));
    expectThrows(() => parseSafetensors(shape), 'model.safetensors: tensor w has an invalid shape [-1]');
    const overlap = rawSafetensors(
      {
        a: { dtype: 'F32', shape: [4], data_offsets: [0, 16] },
        b: { dtype: 'F32', shape: [4], data_offsets: [8, 24] },
      },
      f32(6),
    );
    expectThrows(() => parseSafetensors(overlap), 'model.safetensors: tensors a (data bytes 0..16) and b (data bytes 8..24) overlap');
    const meta = rawSafetensors({ __metadata__: { n: 1 } }, new Uint8Array(0));
    expectThrows(() => parseSafetensors(meta), 'model.safetensors: "__metadata__" must map names to strings');
  });
});

describe('config.json', () => {
  const base = {
    vocab_size: 200,
    hidden_size: 32,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    intermediate_size: 64,
    max_position_embeddings: 64,
  };
  const parse = (o: unknown) => parseBertConfig(JSON.stringify(o));

  it('applies the HF defaults and maps activations', () => {
    const c = parse({ ...base, hidden_act: 'gelu_pytorch_tanh', refbert_seed: 3 });
    expect(c).toMatchObject({
      typeVocabSize: 2,
      layerNormEps: 1e-12,
      hiddenAct: 'gelu_new',
      hiddenDropoutProb: 0.1,
      attentionProbsDropoutProb: 0.1,
      initializerRange: 0.02,
      padTokenId: 0,
    });
    expect(c.raw.refbert_seed).toBe(3);
    expect(parse({ ...base, hidden_act: 'relu' }).hiddenAct).toBe('relu');
    expect(parse({ ...base, hidden_act: 'gelu_new' }).hiddenAct).toBe('gelu_new');
  });

  it('reports bad configs field by field', () => {
    const { num_attention_heads: _, ...noHeads } = base;
    expectThrows(() => parse(noHeads), 'config.json: missing required field "num_attention_heads"');
    expectThrows(() => parse({ ...base, hidden_size: 'abc' }), 'config.json: field "hidden_size" must be a positive integer, got "abc"');
    expectThrows(() => parse({ ...base, num_hidden_layers: 1.5 }), 'config.json: field "num_hidden_layers" must be a positive integer, got 1.5');
    expectThrows(
      () => parse({ ...base, vocab_size: 0, intermediate_size: null }),
      'config.json: field "vocab_size" must be a positive integer, got 0\nconfig.json: field "intermediate_size" must be a positive integer, got null',
    );
    expectThrows(() => parse({ ...base, hidden_size: 30 }), 'config.json: hidden_size 30 is not divisible by num_attention_heads 4');
    expectThrows(
      () => parse({ ...base, hidden_act: 'swish' }),
      'config.json: field "hidden_act" must be one of "gelu", "gelu_new", "gelu_pytorch_tanh", "relu", got "swish"',
    );
    expectThrows(() => parse({ ...base, layer_norm_eps: -1 }), 'config.json: field "layer_norm_eps" must be a positive number, got -1');
    expectThrows(() => parse({ ...base, hidden_dropout_prob: 1 }), 'config.json: field "hidden_dropout_prob" must be a number in [0, 1), got 1');
    expectThrows(
      () => parse({ ...base, position_embedding_type: 'relative_key' }),
      'config.json: field "position_embedding_type" is "relative_key"; only "absolute" is supported',
    );
    expectThrows(() => parse({ ...base, model_type: 'roberta' }), 'config.json: model_type "roberta" is not supported (only "bert")');
    expectThrows(() => parse([1]), 'config.json: must hold a JSON object, got an array');
    expectThrows(() => parse(null), 'config.json: must hold a JSON object, got null');
    expect(() => parseBertConfig('{"vocab_size": 3,')).toThrow(/^config\.json: not valid JSON \(/);
  });

  it('serializes to HF snake_case, keeping unknown fields and the activation spelling', () => {
    const c = parse({ ...base, hidden_act: 'gelu_pytorch_tanh', refbert_seed: 3, architectures: ['BertForMaskedLM'] });
    const json = JSON.parse(serializeBertConfig({ ...c, hiddenDropoutProb: 0 }));
    expect(json).toEqual({
      ...base,
      architectures: ['BertForMaskedLM'],
      model_type: 'bert',
      hidden_act: 'gelu_pytorch_tanh',
      refbert_seed: 3,
      type_vocab_size: 2,
      layer_norm_eps: 1e-12,
      hidden_dropout_prob: 0,
      attention_probs_dropout_prob: 0.1,
      initializer_range: 0.02,
      pad_token_id: 0,
    });
    expect(JSON.parse(serializeBertConfig({ ...c, hiddenAct: 'relu' })).hidden_act).toBe('relu');
    expect(JSON.parse(serializeBertConfig({ ...c, raw: {} })).architectures).toEqual(['BertModel']);
    const fixtureText = textOf(readFixtureFile('random-tiny', 'config.json'));
    expect(parseBertConfig(serializeBertConfig(parseBertConfig(fixtureText)))).toEqual(parseBertConfig(fixtureText));
  });
});

describe('tokenizer_config.json', () => {
  it('reads do_lower_case, defaulting from the model name', () => {
    expect(parseDoLowerCase('{"do_lower_case": false}')).toBe(false);
    expect(parseDoLowerCase('{"tokenizer_class": "BertTokenizer"}')).toBe(true);
    expect(parseDoLowerCase(null, 'https://hub/google-bert/bert-base-cased/resolve/main')).toBe(false);
    expect(parseDoLowerCase(null, '/models/bert-base-uncased')).toBe(true);
    expect(parseDoLowerCase('{}', 'bert-large-cased-whole-word-masking')).toBe(false);
    expectThrows(() => parseDoLowerCase('{"do_lower_case": "yes"}'), 'tokenizer_config.json: field "do_lower_case" must be true or false, got "yes"');
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

describe('model sources', () => {
  let server: Server;
  let base: string;
  const requests: string[] = [];
  beforeAll(async () => {
    server = createServer((req, res) => {
      requests.push(`${req.method} ${req.url}`);
      // /<fixture name>/<file>: each fixture folder wherever it lives (tests/fixtures or the assets cache).
      const [name, ...rest] = decodeURIComponent((req.url ?? '').slice(1)).split('/');
      const dir = (FIXTURE_NAMES as readonly string[]).includes(name) ? fixtureModelDir(name as FixtureName) : null;
      const file = dir ? resolve(dir, rest.join('/')) : '';
      if (!dir || !file.startsWith(dir + '/') || !statSync(file, { throwIfNoEntry: false })?.isFile()) {
        res.writeHead(404, 'Not Found').end('not here');
        return;
      }
      const body = readFileSync(file);
      res.writeHead(200, { 'Content-Length': body.length });
      res.end(req.method === 'HEAD' ? undefined : body);
    });
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((ok) => server.close(() => ok())));

  it('urlSource loads a fixture folder over HTTP, with download progress, identical to dirSource', async () => {
    const progress: [number, number | undefined][] = [];
    const viaUrl = await loadBertCheckpoint(urlSource(`${base}/random-tiny/`), { onProgress: (l, t) => progress.push([l, t]) });
    const viaDir = await loadBertCheckpoint(dirSource(fixtureModelDir('random-tiny')));
    expect(viaUrl.origin).toBe(`${base}/random-tiny`);
    expect(viaUrl.config).toEqual(viaDir.config);
    expect(viaUrl.vocabText).toBe(viaDir.vocabText);
    for (const [name, t] of viaDir.tensors) expect(firstBitDifference(viaUrl.tensors.get(name)!.data, t.data)).toBe(-1);
    expect(progress[0]).toEqual([0, 111088]);
    expect(progress.at(-1)).toEqual([111088, 111088]);
    expect(progress.every(([l], i) => i === 0 || l >= progress[i - 1][0])).toBe(true);
    expect(requests).toContain('HEAD /random-tiny/model.safetensors');
  });

  it('HTTP errors name the URL and the status', async () => {
    await expectRejects(urlSource(`${base}/random-tiny`).readText('nope.json'), `${base}/random-tiny/nope.json: HTTP 404 Not Found`);
    await expectRejects(loadBertCheckpoint(urlSource(`${base}/no-such-model`)), `${base}/no-such-model/config.json: HTTP 404 Not Found`);
    expect(await urlSource(`${base}/random-tiny`).has('pytorch_model.bin')).toBe(false);
    await expectRejects(urlSource('http://127.0.0.1:1/x').readText('config.json'), 'http://127.0.0.1:1/x/config.json: GET failed: fetch failed');
  });

  it('filesSource matches basenames, prefers the shallowest copy, and rejects ambiguous picks', async () => {
    const source = filesSource(
      new Map<string, Blob>([
        ['run/config.json', new Blob(['top'])],
        ['run/checkpoint-500/config.json', new Blob(['nested'])],
        ['run/a/vocab.txt', new Blob(['a'])],
        ['run/b/vocab.txt', new Blob(['b'])],
      ]),
    );
    expect(source.describe()).toBe('run');
    expect(await source.readText('config.json')).toBe('top');
    expect(await source.has('model.safetensors')).toBe(false);
    await expectRejects(source.readText('vocab.txt'), 'picked folder run: 2 files named vocab.txt were picked (run/a/vocab.txt, run/b/vocab.txt)');
    await expectRejects(source.readBytes('model.safetensors'), 'picked folder run: no file named model.safetensors among the picked files');
    const picked = filesSource([new File(['{}'], 'tokenizer_config.json')]);
    expect(picked.describe()).toBe('picked files');
    expect(await picked.readText('tokenizer_config.json')).toBe('{}');
  });

  it('dirSource names the missing path', async () => {
    const dir = fixtureModelDir('random-tiny');
    await expectRejects(dirSource(dir).readText('missing.json'), `${dir}/missing.json: file not found`);
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
