import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeBf16, decodeF16, encodeBf16, encodeF16, f16BitsToF32 } from '../../src/engine/checkpoint/halfFloat.ts';
import { parseSafetensors } from '../../src/engine/checkpoint/safetensors.ts';
import { bitsOf } from '../helpers/checkpointAsserts.ts';

function python(script: string, input?: string): string {
  return execFileSync('python3', ['-c', script], { input, encoding: 'utf8' });
}
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
