import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, resolve, sep } from 'node:path';

/**
 * A plain static file server, as a project page host would be: no special headers (no COOP/COEP), the site
 * mounted under `prefix`, and optionally a folder mounted at `<prefix>mirror/` for the demo's assets.
 */

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.txt': 'text/plain; charset=utf-8',
  '.parquet': 'application/octet-stream',
  '.safetensors': 'application/octet-stream',
  '.tsv': 'text/tab-separated-values; charset=utf-8',
};

export interface StaticServer {
  baseUrl: string;
  /** Every request as `STATUS path`. */
  log: string[];
  close(): Promise<void>;
}

function within(root: string, rel: string): string | null {
  const file = resolve(root, rel);
  return file === root || file.startsWith(root + sep) ? file : null;
}

export async function startStaticServer(siteDir: string, prefix: string, mirrorDir?: string): Promise<StaticServer> {
  const log: string[] = [];
  const server: Server = createServer((req, res) => {
    const path = decodeURIComponent((req.url ?? '/').split(/[?#]/)[0]);
    let file: string | null = null;
    if (path.startsWith(prefix)) {
      const rel = path.slice(prefix.length);
      if (mirrorDir && rel.startsWith('mirror/')) file = within(mirrorDir, rel.slice('mirror/'.length));
      else file = within(siteDir, rel === '' ? 'index.html' : rel);
    }
    if (!file || !existsSync(file) || !statSync(file).isFile()) {
      log.push(`404 ${path}`);
      res.statusCode = 404;
      res.end('not found');
      return;
    }
    log.push(`200 ${path}`);
    res.setHeader('Content-Type', TYPES[extname(file)] ?? 'application/octet-stream');
    res.setHeader('Content-Length', String(statSync(file).size));
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    createReadStream(file).pipe(res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    log,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
