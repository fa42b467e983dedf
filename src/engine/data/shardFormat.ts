/**
 * One shard = a fixed number of tokenized rows in one compact binary blob (the same bytes in IndexedDB and in
 * a Node folder), little-endian, every section aligned for zero-copy typed-array views:
 *
 *   0   "TSHD" magic, u32 version, u32 rows, u32 tokens, u32 uidBytes       (20 bytes)
 *   20  f32 labels[rows]     class id or score; NaN = unlabelled
 *       i32 ids[tokens]      every row's ids concatenated, [CLS] … [SEP] (… [SEP]), no padding
 *       u16 lengths[rows]    tokens per row
 *       u16 segmentA[rows]   tokens of the first segment ([CLS] a [SEP]); = length for single sentences
 *       utf-8 uids joined by "\n"
 */

export const SHARD_MAGIC = 0x44485354; // "TSHD" read as a little-endian u32
export const SHARD_VERSION = 1;
const HEADER_BYTES = 20;

if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
  throw new Error('Taskscope data shards assume a little-endian platform');
}

export interface ShardRows {
  labels: Float32Array;
  ids: Int32Array;
  lengths: Uint16Array;
  segmentA: Uint16Array;
  uids: string[];
}

export interface DecodedShard extends ShardRows {
  rows: number;
  /** Start of row i in `ids` (rows + 1 entries). */
  offsets: Uint32Array;
}

export function encodeShard(s: ShardRows): Uint8Array {
  const rows = s.labels.length;
  const tokens = s.ids.length;
  for (const u of s.uids) if (u.includes('\n')) throw new Error(`uid ${JSON.stringify(u)} contains a newline`);
  const uidBytes = new TextEncoder().encode(s.uids.join('\n'));
  const total = HEADER_BYTES + 4 * rows + 4 * tokens + 2 * rows * 2 + uidBytes.byteLength;
  const buf = new ArrayBuffer(total);
  const view = new DataView(buf);
  view.setUint32(0, SHARD_MAGIC, true);
  view.setUint32(4, SHARD_VERSION, true);
  view.setUint32(8, rows, true);
  view.setUint32(12, tokens, true);
  view.setUint32(16, uidBytes.byteLength, true);
  let off = HEADER_BYTES;
  new Float32Array(buf, off, rows).set(s.labels);
  off += 4 * rows;
  new Int32Array(buf, off, tokens).set(s.ids);
  off += 4 * tokens;
  new Uint16Array(buf, off, rows).set(s.lengths);
  off += 2 * rows;
  new Uint16Array(buf, off, rows).set(s.segmentA);
  off += 2 * rows;
  new Uint8Array(buf, off).set(uidBytes);
  return new Uint8Array(buf);
}

/** Throws an Error saying what is wrong; checksums are checked by the caller before decoding. */
export function decodeShard(bytes: Uint8Array, name: string): DecodedShard {
  // Typed-array views need aligned offsets; a Node Buffer from a pool may not start on a 4-byte boundary.
  const b = bytes.byteOffset % 4 === 0 ? bytes : bytes.slice();
  if (b.byteLength < HEADER_BYTES) throw new Error(`${name}: shard too short (${b.byteLength} bytes)`);
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (view.getUint32(0, true) !== SHARD_MAGIC) throw new Error(`${name}: not a Taskscope shard (bad magic)`);
  const version = view.getUint32(4, true);
  if (version !== SHARD_VERSION) throw new Error(`${name}: shard format version ${version}, expected ${SHARD_VERSION}`);
  const rows = view.getUint32(8, true);
  const tokens = view.getUint32(12, true);
  const uidLen = view.getUint32(16, true);
  const expected = HEADER_BYTES + 8 * rows + 4 * tokens + uidLen;
  if (expected !== b.byteLength) throw new Error(`${name}: shard size ${b.byteLength} bytes, header says ${expected}`);
  let off = b.byteOffset + HEADER_BYTES;
  const labels = new Float32Array(b.buffer, off, rows);
  off += 4 * rows;
  const ids = new Int32Array(b.buffer, off, tokens);
  off += 4 * tokens;
  const lengths = new Uint16Array(b.buffer, off, rows);
  off += 2 * rows;
  const segmentA = new Uint16Array(b.buffer, off, rows);
  off += 2 * rows;
  const uidText = new TextDecoder().decode(new Uint8Array(b.buffer, off, uidLen));
  const uids = rows === 0 ? [] : uidText.split('\n');
  if (uids.length !== rows) throw new Error(`${name}: ${uids.length} uids for ${rows} rows`);
  const offsets = new Uint32Array(rows + 1);
  for (let i = 0; i < rows; i++) offsets[i + 1] = offsets[i] + lengths[i];
  if (offsets[rows] !== tokens) throw new Error(`${name}: row lengths sum to ${offsets[rows]}, header says ${tokens} tokens`);
  return { rows, labels, ids, lengths, segmentA, uids, offsets };
}
