import type { Plugin } from 'vite';
import { createReadStream, existsSync, statSync } from 'node:fs';
import { resolve, sep } from 'node:path';
import { sharedRoot } from './assetRoot.ts';

/**
 * Dev/preview only: serves the assets (`../shared/assets`, or the cache `npm run assets` fills) under `/mirror/`
 * so the app's mirror base URL can point at a local copy of the Hugging Face Hub layout (`/mirror/hub/...`), the GLUE TSV folder (`/mirror/glue/...`)
 * and the fixture checkpoints (`/mirror/fixtures/...`, the committed ones from tests/fixtures first). Nothing from
 * there is ever bundled.
 */
export function sharedAssetsMirror(root = process.env.TASKSCOPE_ASSETS ?? resolve(sharedRoot(process.cwd()), 'assets')): Plugin {
  const committed = resolve(process.cwd(), 'tests');
  const locate = (rel: string): string | null => {
    for (const base of rel.startsWith('fixtures/') ? [committed, root] : [root]) {
      const file = resolve(base, rel);
      if (file.startsWith(base + sep) && existsSync(file) && statSync(file).isFile()) return file;
    }
    return null;
  };
  const handler = (req: { url?: string }, res: import('node:http').ServerResponse, next: () => void) => {
    const url = req.url ?? '';
    const prefix = url.match(/^(?:\/[^?#]*?)?\/mirror\//);
    if (!prefix) return next();
    const rel = decodeURIComponent(url.slice(prefix[0].length).split(/[?#]/)[0]);
    const file = locate(rel);
    if (!file) {
      res.statusCode = 404;
      res.end(`not in mirror: ${rel}`);
      return;
    }
    res.setHeader('Content-Length', String(statSync(file).size));
    res.setHeader('Access-Control-Allow-Origin', '*');
    createReadStream(file).pipe(res);
  };
  return {
    name: 'taskscope-shared-assets-mirror',
    configureServer(server) {
      server.middlewares.use(handler);
    },
    configurePreviewServer(server) {
      server.middlewares.use(handler);
    },
  };
}
