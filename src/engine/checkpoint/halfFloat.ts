/**
 * Bit-level float16 / bfloat16 <-> float32 conversion. Node 20 has no Float16Array, and browsers got
 * it only recently, so checkpoints stored as F16/BF16 are widened by hand. Rounding is
 * round-to-nearest-even, as numpy and PyTorch do, so an export matches what `tensor.half()` would write.
 */

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** float32 value -> IEEE binary16 bits (RNE; overflow -> ±inf; NaN stays a quiet NaN). */
export function f32ToF16Bits(x: number): number {
  f32[0] = x;
  const f = u32[0];
  const sign = (f >>> 16) & 0x8000;
  const exp = (f >>> 23) & 0xff;
  const mant = f & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant !== 0 ? 0x200 | (mant >>> 13) : 0);
  if (exp >= 143) return sign | 0x7c00; // |x| >= 2^16: beyond the largest half (65504) even before rounding
  if (exp <= 112) {
    // Result is a half subnormal (or zero): its unit is 2^-24, so the value in units is m * 2^(exp-126).
    if (exp < 102) return sign; // below 2^-25: rounds to zero
    const m = mant | 0x800000;
    const shift = 126 - exp;
    let h = m >>> shift;
    const rem = m & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && (h & 1) === 1)) h++;
    return sign | h;
  }
  let h = ((exp - 112) << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  // A carry out of the mantissa bumps the exponent, which is exactly right (up to 0x7c00 = inf).
  if (rem > 0x1000 || (rem === 0x1000 && (h & 1) === 1)) h++;
  return sign | h;
}

/** IEEE binary16 bits -> number (exact). */
export function f16BitsToF32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant !== 0 ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/** float32 value -> bfloat16 bits (the top 16 bits of the float32, RNE; NaN stays a quiet NaN). */
export function f32ToBf16Bits(x: number): number {
  f32[0] = x;
  const f = u32[0];
  if ((f & 0x7f800000) === 0x7f800000 && (f & 0x7fffff) !== 0) return ((f >>> 16) & 0x8000) | 0x7fc0;
  return ((f + 0x7fff + ((f >>> 16) & 1)) >>> 16) & 0xffff;
}

let f16Table: Float32Array | null = null;

/** Widen little-endian F16 words to float32 (a 64 K-entry table: large embeddings decode in one pass). */
export function decodeF16(words: Uint16Array): Float32Array {
  if (!f16Table) {
    f16Table = new Float32Array(65536);
    for (let i = 0; i < 65536; i++) f16Table[i] = f16BitsToF32(i);
  }
  const out = new Float32Array(words.length);
  for (let i = 0; i < words.length; i++) out[i] = f16Table[words[i]];
  return out;
}

/** Widen BF16 words to float32: exact, they are the float32's high half. */
export function decodeBf16(words: Uint16Array): Float32Array {
  const bits = new Uint32Array(words.length);
  for (let i = 0; i < words.length; i++) bits[i] = words[i] << 16;
  return new Float32Array(bits.buffer);
}

export function encodeF16(values: Float32Array): Uint16Array {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = f32ToF16Bits(values[i]);
  return out;
}

export function encodeBf16(values: Float32Array): Uint16Array {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = f32ToBf16Bits(values[i]);
  return out;
}
