import { DataError } from './dataError.ts';

/** No GLUE row comes near this; a longer "line" means a file that is not line-based text (and would eat memory). */
export const MAX_LINE_CHARS = 4 * 1024 * 1024;

/** A run of consecutive lines (without their line breaks), handed out per input chunk to keep awaits rare. */
export interface LineBatch {
  lines: string[];
  /** 1-based number of `lines[0]`. */
  firstLine: number;
  /**
   * False only for the file's last line when the file does not end with a newline; a consumer uses it to tell
   * a truncated row from an ordinary last line.
   */
  lastTerminated: boolean;
}

export interface LineReaderOptions {
  onBytes?: (bytesRead: number) => void;
  signal?: AbortSignal;
}

/**
 * Splits a UTF-8 byte stream into lines without ever holding the whole file: bytes are decoded chunk by
 * chunk (a streaming TextDecoder, so a character split across chunks is fine), "\n" ends a line and a "\r"
 * before it is dropped. No quoting rules: GLUE TSVs contain bare quotes, so a line is a row. A leading BOM is
 * dropped (MRPC has one). Invalid UTF-8 or a NUL byte means a binary file; an empty file is an error too.
 */
export async function* readLines(stream: ReadableStream<Uint8Array>, file: string, opts: LineReaderOptions = {}): AsyncGenerator<LineBatch> {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  const reader = stream.getReader();
  let pending = '';
  let lineNo = 1;
  let bytes = 0;
  let sawText = false;
  let finished = false;
  const decode = (chunk: Uint8Array | undefined): string => {
    try {
      return chunk ? decoder.decode(chunk, { stream: true }) : decoder.decode();
    } catch {
      const first = lineNo + countNewlines(pending);
      const line = chunk ? first + invalidUtf8LineOffset(chunk) : first;
      throw new DataError({ file, line, reason: 'not valid UTF-8 text (binary file?)', fatal: true });
    }
  };
  try {
    for (;;) {
      if (opts.signal?.aborted) throw opts.signal.reason ?? new Error('aborted');
      const { value, done } = await reader.read();
      const text = decode(done ? undefined : value);
      if (!done) {
        bytes += value.byteLength;
        opts.onBytes?.(bytes);
      }
      if (text.length > 0) {
        sawText = true;
        const nul = text.indexOf('\0');
        if (nul >= 0) {
          const line = lineNo + countNewlines(pending) + countNewlines(text.slice(0, nul));
          throw new DataError({ file, line, reason: 'contains a NUL byte (binary file?)', fatal: true });
        }
        // Only the new text is split: a long unfinished line is appended to, never rescanned.
        if (text.indexOf('\n') < 0) {
          pending += text;
          if (pending.length > MAX_LINE_CHARS) {
            throw new DataError({
              file,
              line: lineNo,
              reason: `line longer than ${MAX_LINE_CHARS} characters (the limit per line; not a TSV file?)`,
              fatal: true,
            });
          }
          if (done) {
            finished = true;
            break;
          }
          continue;
        }
        const parts = text.split('\n');
        parts[0] = pending + parts[0];
        pending = parts.pop()!;
        if (pending.length > MAX_LINE_CHARS) {
          throw new DataError({
            file,
            line: lineNo + parts.length,
            reason: `line longer than ${MAX_LINE_CHARS} characters (the limit per line; not a TSV file?)`,
            fatal: true,
          });
        }
        if (parts.length > 0) {
          for (let i = 0; i < parts.length; i++) {
            const p = parts[i];
            if (p.length > MAX_LINE_CHARS) {
              throw new DataError({
                file,
                line: lineNo + i,
                reason: `line longer than ${MAX_LINE_CHARS} characters (the limit per line; not a TSV file?)`,
                fatal: true,
              });
            }
            if (p.length > 0 && p.charCodeAt(p.length - 1) === 13) parts[i] = p.slice(0, -1);
          }
          yield { lines: parts, firstLine: lineNo, lastTerminated: true };
          lineNo += parts.length;
        }
      }
      if (done) {
        finished = true;
        break;
      }
    }
  } finally {
    // Stopping early (an error, or the consumer broke off) must still close the file or the HTTP body.
    if (!finished) await reader.cancel().catch(() => {});
    reader.releaseLock();
  }
  if (!sawText) throw new DataError({ file, reason: 'empty file', fatal: true });
  if (pending.length > 0) {
    if (pending.charCodeAt(pending.length - 1) === 13) pending = pending.slice(0, -1);
    yield { lines: [pending], firstLine: lineNo, lastTerminated: false };
  }
}

/**
 * Which line of a chunk (0 = its first) holds the first invalid UTF-8 byte. A 0x0A byte never occurs inside a
 * multi-byte sequence, so each line can be checked on its own; continuation bytes at the very start belong to
 * a character begun in the previous chunk, and a sequence cut at the chunk's end is left for the next one.
 */
function invalidUtf8LineOffset(chunk: Uint8Array): number {
  let start = 0;
  while (start < chunk.length && start < 3 && (chunk[start] & 0xc0) === 0x80) start++;
  let line = 0;
  for (;;) {
    const nl = chunk.indexOf(10, start);
    const end = nl < 0 ? chunk.length : nl;
    try {
      new TextDecoder('utf-8', { fatal: true }).decode(chunk.subarray(start, end), { stream: nl < 0 });
    } catch {
      return line;
    }
    if (nl < 0) return line;
    start = nl + 1;
    line++;
  }
}

function countNewlines(s: string): number {
  let n = 0;
  for (let i = s.indexOf('\n'); i >= 0; i = s.indexOf('\n', i + 1)) n++;
  return n;
}
