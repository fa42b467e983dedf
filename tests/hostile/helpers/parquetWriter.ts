// Builds hostile Parquet files in the test instead of committing them: a minimal writer (Thrift compact footer
// and page headers, REQUIRED columns, PLAIN pages, uncompressed or Snappy) whose every size field can lie.
import { writeFile } from 'node:fs/promises';

const I32 = 5;
const I64 = 6;
const BINARY = 8;
const LIST = 9;
const STRUCT = 12;

type Value = number | bigint | string | Uint8Array | Field[] | { elem: number; items: Value[] };
type Field = [id: number, type: number, value: Value | undefined];

function varint(out: number[], n: bigint): void {
  while (n >= 0x80n) {
    out.push(Number(n & 0x7fn) | 0x80);
    n >>= 7n;
  }
  out.push(Number(n));
}

function value(out: number[], type: number, v: Value): void {
  if (type === I32 || type === I64) {
    const n = BigInt(v as number | bigint);
    varint(out, n >= 0n ? n << 1n : (-n << 1n) - 1n); // zigzag
  } else if (type === BINARY) {
    const bytes = typeof v === 'string' ? new TextEncoder().encode(v) : (v as Uint8Array);
    varint(out, BigInt(bytes.length));
    for (const b of bytes) out.push(b);
  } else if (type === LIST) {
    const { elem, items } = v as { elem: number; items: Value[] };
    if (items.length < 15) out.push((items.length << 4) | elem);
    else {
      out.push(0xf0 | elem);
      varint(out, BigInt(items.length));
    }
    for (const it of items) value(out, elem, it);
  } else struct(out, v as Field[]);
}

function struct(out: number[], fields: Field[]): void {
  let last = 0;
  for (const [id, type, v] of fields) {
    if (v === undefined) continue;
    out.push(((id - last) << 4) | type);
    value(out, type, v);
    last = id;
  }
  out.push(0);
}

const thrift = (fields: Field[]) => {
  const out: number[] = [];
  struct(out, fields);
  return Uint8Array.from(out);
};

/** Parquet's PLAIN encoding of strings (4-byte length, bytes) and of INT64 values. */
export function plainStrings(values: string[]): Uint8Array {
  const parts = values.map((v) => new TextEncoder().encode(v));
  const out = new Uint8Array(parts.reduce((n, p) => n + 4 + p.length, 0));
  const view = new DataView(out.buffer);
  let o = 0;
  for (const p of parts) {
    view.setUint32(o, p.length, true);
    out.set(p, o + 4);
    o += 4 + p.length;
  }
  return out;
}

export function plainInt64(values: number[]): Uint8Array {
  const out = new Uint8Array(8 * values.length);
  values.forEach((v, i) => new DataView(out.buffer).setBigInt64(8 * i, BigInt(v), true));
  return out;
}

/** A Snappy stream of `prefix` then `byte` repeated to `length` bytes: copies of offset 1, 64 bytes each (~21:1). */
export function snappyRun(prefix: Uint8Array, byte: number, length: number): Uint8Array {
  const out: number[] = [];
  varint(out, BigInt(length));
  const lit = [...prefix, byte];
  out.push((lit.length - 1) << 2, ...lit);
  for (let left = length - lit.length; left > 0;) {
    const n = Math.min(64, left);
    if (n < 4) {
      out.push((n - 1) << 2, ...new Array<number>(n).fill(byte));
    } else out.push(((n - 1) << 2) | 2, 1, 0);
    left -= n;
  }
  return Uint8Array.from(out);
}

export interface PageSpec {
  /** The page's bytes as stored (compressed when the column's codec is Snappy). */
  data: Uint8Array;
  numValues: number;
  /** What the page header declares it decodes to (default: data.length). */
  uncompressedSize?: number;
}

export interface ColumnSpec {
  name: string;
  type: 'BYTE_ARRAY' | 'INT64' | 'INT32';
  codec?: 'UNCOMPRESSED' | 'SNAPPY';
  pages: PageSpec[];
  /** What the footer declares for the column chunk (default: the true sizes). */
  declaredUncompressed?: number;
}

const TYPES = { INT32: 1, INT64: 2, BYTE_ARRAY: 6 } as const;

/** One row group; `numRows` is what the footer declares, `groupRows` what the row group does (default: the same). */
export function parquetBytes(numRows: number | bigint, columns: ColumnSpec[], groupRows: number | bigint = numRows): Uint8Array {
  const chunks: Uint8Array[] = [new TextEncoder().encode('PAR1')];
  let offset = 4;
  const metas: Field[][] = [];
  for (const c of columns) {
    const start = offset;
    let compressed = 0;
    let uncompressed = 0;
    for (const p of c.pages) {
      const header = thrift([
        [1, I32, 0], // DATA_PAGE
        [2, I32, p.uncompressedSize ?? p.data.length],
        [3, I32, p.data.length],
        [
          5,
          STRUCT,
          [
            [1, I32, p.numValues],
            [2, I32, 0], // PLAIN
            [3, I32, 3], // RLE
            [4, I32, 3],
          ],
        ],
      ]);
      chunks.push(header, p.data);
      compressed += header.length + p.data.length;
      uncompressed += header.length + (p.uncompressedSize ?? p.data.length);
    }
    offset += compressed;
    metas.push([
      [1, I32, TYPES[c.type]],
      [2, LIST, { elem: I32, items: [0] }],
      [3, LIST, { elem: BINARY, items: [c.name] }],
      [4, I32, c.codec === 'SNAPPY' ? 1 : 0],
      [5, I64, c.pages.reduce((n, p) => n + p.numValues, 0)],
      [6, I64, c.declaredUncompressed ?? uncompressed],
      [7, I64, compressed],
      [9, I64, start],
    ]);
  }
  const schema: Field[][] = [
    [
      [4, BINARY, 'schema'],
      [5, I32, columns.length],
    ],
    ...columns.map((c): Field[] => [
      [1, I32, TYPES[c.type]],
      [3, I32, 0], // REQUIRED
      [4, BINARY, c.name],
      [6, I32, c.type === 'BYTE_ARRAY' ? 0 : undefined], // UTF8
    ]),
  ];
  const footer = thrift([
    [1, I32, 2],
    [2, LIST, { elem: STRUCT, items: schema }],
    [3, I64, numRows],
    [
      4,
      LIST,
      {
        elem: STRUCT,
        items: [
          [
            [
              1,
              LIST,
              {
                elem: STRUCT,
                items: metas.map((m): Field[] => [
                  [2, I64, m[7][2]],
                  [3, STRUCT, m],
                ]),
              },
            ],
            [2, I64, offset],
            [3, I64, groupRows],
          ],
        ],
      },
    ],
  ]);
  const tail = new Uint8Array(8);
  new DataView(tail.buffer).setUint32(0, footer.length, true);
  tail.set(new TextEncoder().encode('PAR1'), 4);
  chunks.push(footer, tail);
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}

export async function writeParquet(path: string, numRows: number | bigint, columns: ColumnSpec[], groupRows?: number | bigint): Promise<number> {
  const bytes = parquetBytes(numRows, columns, groupRows);
  await writeFile(path, bytes);
  return bytes.length;
}
