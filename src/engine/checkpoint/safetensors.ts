import { CheckpointError, errorText } from './checkpointError.ts';
import { decodeBf16, decodeF16, encodeBf16, encodeF16 } from './halfFloat.ts';
import type { NamedTensor, SafetensorsDtype } from './types.ts';

/**
 * The safetensors format (huggingface/safetensors): u64 little-endian header length N, N bytes of JSON
 * `{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__"?: {string: string}}`, then the data
 * section; offsets are relative to its start. Everything is widened to float32 on read.
 */

const BYTES_PER_ELEMENT: Record<SafetensorsDtype, number> = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4 };
const isSupportedDtype = (d: unknown): d is SafetensorsDtype => typeof d === 'string' && Object.hasOwn(BYTES_PER_ELEMENT, d);

// Typed-array views below read the file's little-endian words in host order.
const hostIsLittleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export interface SafetensorsContents {
  /** In data-section order. */
  tensors: NamedTensor[];
  /** The `__metadata__` map (`{"format": "pt"}` in files written by transformers), or null. */
  metadata: Record<string, string> | null;
}

interface HeaderEntry {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  begin: number;
  end: number;
}

const elementCount = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);
const isOffset = (x: unknown): x is number => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;

/** Parse a whole `.safetensors` file. `file` names it in every error. */
export function parseSafetensors(bytes: Uint8Array, file = 'model.safetensors'): SafetensorsContents {
  const fail = (detail: string): never => {
    throw new CheckpointError(file, detail);
  };
  if (!hostIsLittleEndian) fail('reading safetensors needs a little-endian host');
  if (bytes.length < 8) fail(`file is ${bytes.length} bytes, too short for the 8-byte header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getBigUint64(0, true);
  if (headerLength > BigInt(bytes.length - 8)) {
    fail(`header length ${headerLength} runs past the end of the file (${bytes.length} bytes)`);
  }
  const dataStart = 8 + Number(headerLength);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, dataStart)));
  } catch (e) {
    fail(`header is not valid JSON (${errorText(e)})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) fail('header is not a JSON object');

  let metadata: Record<string, string> | null = null;
  const entries: HeaderEntry[] = [];
  for (const [name, info] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof info !== 'object' || info === null || Object.values(info).some((x) => typeof x !== 'string')) {
        fail('"__metadata__" must map names to strings');
      }
      metadata = { ...(info as Record<string, string>) };
      continue;
    }
    entries.push(readHeaderEntry(name, info, fail));
  }

  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  const dataLength = bytes.length - dataStart;
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i];
    if (e.end > dataLength) {
      fail(`file is ${bytes.length} bytes, tensor ${e.name} needs bytes ${dataStart + e.begin}..${dataStart + e.end}`);
    }
    const prev = entries[i - 1];
    if (prev && e.begin < prev.end) {
      fail(`tensors ${prev.name} (data bytes ${prev.begin}..${prev.end}) and ${e.name} (data bytes ${e.begin}..${e.end}) overlap`);
    }
  }

  const tensors = entries.map((e): NamedTensor => ({
    name: e.name,
    shape: e.shape,
    dtype: e.dtype,
    data: decode(bytes.slice(dataStart + e.begin, dataStart + e.end), e.dtype),
  }));
  return { tensors, metadata };
}

function readHeaderEntry(name: string, info: unknown, fail: (detail: string) => never): HeaderEntry {
  if (typeof info !== 'object' || info === null) fail(`tensor ${name}: header entry is not an object`);
  const { dtype, shape, data_offsets: offsets } = info as Record<string, unknown>;
  if (!isSupportedDtype(dtype)) {
    fail(`tensor ${name} has unsupported dtype ${JSON.stringify(dtype)} (supported: F32, F16, BF16, F64, I64, I32)`);
  }
  if (!Array.isArray(shape) || !shape.every(isOffset)) fail(`tensor ${name} has an invalid shape ${JSON.stringify(shape)}`);
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isOffset) || offsets[0] > offsets[1]) {
    fail(`tensor ${name} has invalid data_offsets ${JSON.stringify(offsets)}`);
  }
  const [begin, end] = offsets as [number, number];
  const dims = shape as number[];
  const needed = elementCount(dims) * BYTES_PER_ELEMENT[dtype];
  if (end - begin !== needed) {
    fail(`tensor ${name} has data_offsets [${begin},${end}] (${end - begin} bytes), but shape [${dims.join(',')}] in ${dtype} needs ${needed} bytes`);
  }
  return { name, dtype, shape: dims, begin, end };
}

/** `raw` is a fresh copy, so its buffer starts aligned for every typed array. */
function decode(raw: Uint8Array, dtype: SafetensorsDtype): Float32Array {
  const n = raw.byteLength / BYTES_PER_ELEMENT[dtype];
  switch (dtype) {
    case 'F32':
      return new Float32Array(raw.buffer, 0, n);
    case 'F16':
      return decodeF16(new Uint16Array(raw.buffer, 0, n));
    case 'BF16':
      return decodeBf16(new Uint16Array(raw.buffer, 0, n));
    case 'F64':
      return Float32Array.from(new Float64Array(raw.buffer, 0, n));
    case 'I32':
      return Float32Array.from(new Int32Array(raw.buffer, 0, n));
    case 'I64': {
      // Integer buffers in BERT checkpoints are position ids (< 2^24), which float32 holds exactly.
      const ints = new BigInt64Array(raw.buffer, 0, n);
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = Number(ints[i]);
      return out;
    }
  }
}

/** Per-tensor storage dtype: one for all, `'stored'` (each tensor's own `dtype`), or a map by name (default: stored). */
export type DtypeChoice = SafetensorsDtype | 'stored' | Readonly<Record<string, SafetensorsDtype>>;

/**
 * Write tensors as safetensors, laid out like the reference writer: `__metadata__` first, tensors sorted by
 * name with contiguous offsets, header padded with spaces to a multiple of 8 bytes so the data section is aligned.
 */
export function serializeSafetensors(
  tensors: readonly NamedTensor[],
  dtype: DtypeChoice = 'F32',
  metadata?: Readonly<Record<string, string>>,
): Uint8Array<ArrayBuffer> {
  const fail = (detail: string): never => {
    throw new CheckpointError('serializeSafetensors', detail);
  };
  const sorted = [...tensors].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  // No prototype: a tensor named "__proto__" must become a key, not replace the prototype.
  const header: Record<string, unknown> = Object.create(null);
  if (metadata && Object.keys(metadata).length > 0) {
    for (const [k, v] of Object.entries(metadata)) if (typeof v !== 'string') fail(`metadata "${k}" is not a string`);
    header.__metadata__ = { ...metadata };
  }
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const t of sorted) {
    if (t.name === '__metadata__') fail('a tensor cannot be named "__metadata__"');
    if (Object.hasOwn(header, t.name)) fail(`tensor ${t.name} is listed twice`);
    if (t.data.length !== elementCount(t.shape)) {
      fail(`tensor ${t.name} has ${t.data.length} values, but shape [${t.shape.join(',')}] needs ${elementCount(t.shape)}`);
    }
    const out = typeof dtype === 'string' ? (dtype === 'stored' ? t.dtype : dtype) : (dtype[t.name] ?? t.dtype);
    if (!isSupportedDtype(out)) fail(`tensor ${t.name}: cannot write dtype ${JSON.stringify(out)}`);
    const chunk = encode(t, out, fail);
    header[t.name] = { dtype: out, shape: [...t.shape], data_offsets: [offset, offset + chunk.byteLength] };
    chunks.push(chunk);
    offset += chunk.byteLength;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const headerLength = Math.ceil(json.length / 8) * 8;
  const file = new Uint8Array(8 + headerLength + offset);
  new DataView(file.buffer).setBigUint64(0, BigInt(headerLength), true);
  file.set(json, 8);
  file.fill(0x20, 8 + json.length, 8 + headerLength);
  let at = 8 + headerLength;
  for (const c of chunks) {
    file.set(c, at);
    at += c.byteLength;
  }
  return file;
}

function encode(t: NamedTensor, dtype: SafetensorsDtype, fail: (detail: string) => never): Uint8Array {
  const bytes = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const checkIntegers = () => {
    const bad = t.data.findIndex((x) => !Number.isInteger(x));
    if (bad >= 0) fail(`tensor ${t.name} holds the non-integer ${t.data[bad]} at index ${bad}, cannot write it as ${dtype}`);
  };
  switch (dtype) {
    case 'F32':
      return bytes(Float32Array.from(t.data));
    case 'F16':
      return bytes(encodeF16(t.data));
    case 'BF16':
      return bytes(encodeBf16(t.data));
    case 'F64':
      return bytes(Float64Array.from(t.data));
    case 'I32':
      checkIntegers();
      return bytes(Int32Array.from(t.data));
    case 'I64': {
      checkIntegers();
      const out = new BigInt64Array(t.data.length);
      for (let i = 0; i < t.data.length; i++) out[i] = BigInt(t.data[i]);
      return bytes(out);
    }
  }
}

/** Refuses a NaN or ±Inf weight, naming the tensor and the first bad element (a model that trained into NaN). */
export function checkFiniteTensors(
  tensors: Iterable<{ name: string; shape: readonly number[]; data: ArrayLike<number> | ArrayLike<bigint> }>,
  file: string,
): void {
  for (const t of tensors) {
    const d = t.data;
    if (typeof d[0] === 'bigint') continue;
    const f = d as ArrayLike<number>;
    for (let i = 0; i < f.length; i++) {
      const x = f[i];
      if (x - x !== 0) {
        const what = Number.isNaN(x) ? 'NaN' : x > 0 ? 'Inf' : '-Inf';
        throw new CheckpointError(
          file,
          `tensor ${t.name} [${t.shape.join(', ')}] holds ${what} at element ${i}${f.length > 1 ? ` of ${f.length}` : ''}; non-finite weights are refused`,
        );
      }
    }
  }
}
