import { describe, expect, it } from 'vitest';
import { parseSafetensors, serializeSafetensors } from '../../src/engine/checkpoint/safetensors.ts';
import type { NamedTensor } from '../../src/engine/checkpoint/types.ts';
import { expectThrows, firstBitDifference, readFixtureFile, textOf } from '../helpers/checkpointAsserts.ts';

/** A safetensors file from a hand-written header (no validation: for malformed inputs). */
function rawSafetensors(header: unknown, data: Uint8Array, headerLength?: number): Uint8Array {
  const json = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerLength ?? json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

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
