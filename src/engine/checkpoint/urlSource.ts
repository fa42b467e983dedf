import { CheckpointError, errorText } from './checkpointError.ts';
import type { ModelSource, ProgressCallback } from './modelSource.ts';

export interface UrlSourceOptions {
  /** Defaults to the global fetch. */
  fetch?: typeof fetch;
}

/**
 * Files under a URL base, e.g. a local mirror or a Hub folder
 * `https://huggingface.co/google/bert_uncased_L-4_H-256_A-4/resolve/main`.
 */
export function urlSource(baseUrl: string, options: UrlSourceOptions = {}): ModelSource {
  const base = baseUrl.replace(/\/+$/, '');
  const doFetch = options.fetch ?? ((input, init) => fetch(input, init));
  const urlOf = (name: string) => `${base}/${name.split('/').map(encodeURIComponent).join('/')}`;

  async function get(name: string, method: 'GET' | 'HEAD'): Promise<Response> {
    const url = urlOf(name);
    try {
      return await doFetch(url, { method });
    } catch (e) {
      throw new CheckpointError(url, `${method} failed: ${errorText(e)}`);
    }
  }
  async function getOk(name: string): Promise<Response> {
    const res = await get(name, 'GET');
    if (!res.ok) throw new CheckpointError(urlOf(name), `HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}`);
    return res;
  }

  return {
    describe: () => base,
    async readText(name) {
      return (await getOk(name)).text();
    },
    async readBytes(name, onProgress) {
      const res = await getOk(name);
      if (!onProgress || !res.body) return new Uint8Array(await res.arrayBuffer());
      return readStream(res, onProgress, urlOf(name));
    },
    async has(name) {
      const res = await get(name, 'HEAD');
      if (res.ok) return true;
      if (res.status === 404) return false;
      // 401/403 (gated or private repositories) must not read as "file absent".
      throw new CheckpointError(urlOf(name), `HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}`);
    },
  };
}

async function readStream(res: Response, onProgress: ProgressCallback, url: string): Promise<Uint8Array> {
  const header = res.headers.get('Content-Length');
  // With a Content-Encoding the header counts compressed bytes, so it is only a hint for the buffer size.
  const total = header !== null && /^\d+$/.test(header) && !res.headers.get('Content-Encoding') ? Number(header) : undefined;
  let buffer = new Uint8Array(total ?? 1 << 20);
  let loaded = 0;
  const reader = res.body!.getReader();
  onProgress(0, total);
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (loaded + value.length > buffer.length) {
        const grown = new Uint8Array(Math.max(buffer.length * 2, loaded + value.length));
        grown.set(buffer.subarray(0, loaded));
        buffer = grown;
      }
      buffer.set(value, loaded);
      loaded += value.length;
      onProgress(loaded, total);
    }
  } catch (e) {
    throw new CheckpointError(url, `download failed after ${loaded} bytes: ${errorText(e)}`);
  }
  if (total !== undefined && loaded !== total) {
    throw new CheckpointError(url, `download ended after ${loaded} of ${total} bytes`);
  }
  return loaded === buffer.length ? buffer : buffer.slice(0, loaded);
}
