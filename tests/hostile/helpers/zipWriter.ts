// Builds hostile zip archives in the test instead of committing them: entries are deflated by zlib as a
// stream (a 200 MB bomb is never held uncompressed), then framed as a plain zip (no zip64, sizes < 4 GB).
import { createDeflateRaw, crc32 } from 'node:zlib';
import { writeFile } from 'node:fs/promises';

export interface ZipSpec {
  name: string;
  /** The entry's content, chunk by chunk. */
  parts: () => Iterable<Uint8Array>;
  /** The uncompressed size the headers declare (default: the true one); a smaller one is a lying header. */
  declaredSize?: number;
}

async function deflate(parts: Iterable<Uint8Array>): Promise<{ data: Buffer; crc: number; size: number }> {
  const z = createDeflateRaw({ level: 9 });
  const out: Buffer[] = [];
  z.on('data', (d: Buffer) => out.push(d));
  const ended = new Promise<void>((res, rej) => {
    z.on('end', res);
    z.on('error', rej);
  });
  let crc = 0;
  let size = 0;
  for (const p of parts) {
    crc = crc32(p, crc);
    size += p.length;
    if (!z.write(p)) await new Promise((r) => z.once('drain', r));
  }
  z.end();
  await ended;
  return { data: Buffer.concat(out), crc, size };
}

export async function writeZip(path: string, entries: ZipSpec[]): Promise<number> {
  const chunks: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const { data, crc, size } = await deflate(e.parts());
    const name = Buffer.from(e.name, 'utf8');
    const declared = e.declaredSize ?? size;
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0x0800, 6);
    local.writeUInt16LE(8, 8);
    local.writeUInt16LE(0, 10);
    local.writeUInt16LE(0x21, 12);
    local.writeUInt32LE(crc >>> 0, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(declared, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(0, 28);
    const cd = Buffer.alloc(46);
    cd.writeUInt32LE(0x02014b50, 0);
    cd.writeUInt16LE(20, 4);
    cd.writeUInt16LE(20, 6);
    cd.writeUInt16LE(0x0800, 8);
    cd.writeUInt16LE(8, 10);
    cd.writeUInt16LE(0, 12);
    cd.writeUInt16LE(0x21, 14);
    cd.writeUInt32LE(crc >>> 0, 16);
    cd.writeUInt32LE(data.length, 20);
    cd.writeUInt32LE(declared, 24);
    cd.writeUInt16LE(name.length, 28);
    cd.writeUInt32LE(offset, 42);
    central.push(cd, name);
    chunks.push(local, name, data);
    offset += local.length + name.length + data.length;
  }
  const cdSize = central.reduce((a, b) => a + b.length, 0);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(cdSize, 12);
  end.writeUInt32LE(offset, 16);
  const all = Buffer.concat([...chunks, ...central, end]);
  await writeFile(path, all);
  return all.length;
}

/** `chunk` repeated until `bytes` (the last copy cut). */
export function* repeat(chunk: Uint8Array, bytes: number): Iterable<Uint8Array> {
  for (let n = 0; n < bytes; n += chunk.length) yield n + chunk.length <= bytes ? chunk : chunk.subarray(0, bytes - n);
}

export const text = (s: string) => new TextEncoder().encode(s);
