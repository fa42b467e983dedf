import { Inflate, deflateSync, strToU8 } from 'fflate';

/**
 * The URL hash codec: JSON → deflate → base64url, prefixed with a format version (`#v1.<payload>`). Decoding
 * is defensive because anyone can hand a user a link: the payload is size-capped before inflating, the
 * inflated size is capped while inflating (a small deflate stream can expand ~1000×), and every failure is
 * a `UrlStateError` whose message is shown to the user as plain text.
 */

export const HASH_VERSION = 'v1';
/** Longest hash accepted (characters after `#`), checked before anything is decoded. */
export const MAX_HASH_CHARS = 64 * 1024;
/** Largest inflated JSON accepted, checked while inflating. */
export const MAX_INFLATED_BYTES = 1024 * 1024;
/** Inflate input is fed in slices this big, so one slice cannot expand far past the cap before the check. */
const INFLATE_SLICE = 512;

export class UrlStateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UrlStateError';
  }
}

export function toBase64Url(bytes: Uint8Array): string {
  let bin = '';
  for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

export function fromBase64Url(text: string): Uint8Array {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) throw new UrlStateError('the link is damaged: its data has characters that base64url does not use');
  if (text.length % 4 === 1) throw new UrlStateError('the link is damaged: its data has an impossible length (was it cut off?)');
  const b64 = text.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (text.length % 4)) % 4);
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** Inflates with a running size cap; throws UrlStateError on a bomb or a corrupt stream. */
export function boundedInflate(data: Uint8Array, maxBytes = MAX_INFLATED_BYTES): Uint8Array {
  const chunks: Uint8Array[] = [];
  let total = 0;
  let finished = false;
  const inflater = new Inflate((chunk, final) => {
    total += chunk.length;
    if (total > maxBytes) throw new UrlStateError(`the link's data inflates to more than ${maxBytes} bytes; refused`);
    chunks.push(chunk);
    if (final) finished = true;
  });
  try {
    for (let i = 0; i < data.length; i += INFLATE_SLICE) inflater.push(data.subarray(i, i + INFLATE_SLICE), i + INFLATE_SLICE >= data.length);
    if (data.length === 0) inflater.push(new Uint8Array(0), true);
  } catch (e) {
    if (e instanceof UrlStateError) throw e;
    throw new UrlStateError(`the link is damaged: its data is not a valid deflate stream (${(e as Error).message})`);
  }
  if (!finished) throw new UrlStateError('the link is damaged: its data ends before the deflate stream does (was it cut off?)');
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** `v1.<base64url(deflate(JSON))>`, without the leading `#`. */
export function encodeHash(value: unknown): string {
  const json = JSON.stringify(value);
  return `${HASH_VERSION}.${toBase64Url(deflateSync(strToU8(json), { level: 9 }))}`;
}

/**
 * The JSON value a hash carries (a leading `#` is allowed). Only the container is checked here; the caller
 * validates the value against its schema.
 */
export function decodeHash(hash: string): unknown {
  const text = hash.startsWith('#') ? hash.slice(1) : hash;
  if (text.length > MAX_HASH_CHARS) {
    throw new UrlStateError(`the link's state is ${text.length} characters long; the limit is ${MAX_HASH_CHARS}`);
  }
  const dot = text.indexOf('.');
  const version = dot < 0 ? '' : text.slice(0, dot);
  if (!/^v\d{1,4}$/.test(version)) throw new UrlStateError('the link has no Taskscope state (expected #v1.…)');
  if (version !== HASH_VERSION) {
    throw new UrlStateError(`the link was made by a different Taskscope version (state format ${version}; this version reads ${HASH_VERSION})`);
  }
  const bytes = boundedInflate(fromBase64Url(text.slice(dot + 1)));
  let json: string;
  try {
    json = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new UrlStateError('the link is damaged: its data is not UTF-8 text');
  }
  try {
    return JSON.parse(json) as unknown;
  } catch (e) {
    throw new UrlStateError(`the link is damaged: its data is not JSON (${(e as Error).message})`);
  }
}
