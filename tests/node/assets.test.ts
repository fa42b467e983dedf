import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ASSET_MANIFEST, parseManifest, type AssetEntry } from '../../src/cli/assets/assetManifest.ts';
import { runAssets } from '../../src/cli/commands/assets.ts';
import { getSplit, getTask, hubParquetPath } from '../../datasets/glueTasks.ts';

const sha = (b: string | Buffer) => createHash('sha256').update(b).digest('hex');
const entry = (path: string, body: string): AssetEntry => ({ path, bytes: Buffer.byteLength(body), sha256: sha(body) });

// A mirror with the shared layout, served on 127.0.0.1, and a checkout with no ../shared beside it.
const base = mkdtempSync(join(tmpdir(), 'ts-assets-'));
const mirrorDir = join(base, 'mirror');
const checkout = join(base, 'clone');
const files = { 'assets/glue/RTE/dev.tsv': 'index\tsentence1\tsentence2\tlabel\n0\ta\tb\tentailment\n', 'tools/refbert/refbert.py': 'print(1)\n' };
const entries = Object.entries(files).map(([p, body]) => entry(p, body));
// What a Hub-layout server holds at `<hub>/datasets/…` (the --hub source for files under assets/hub/).
const HUB_FILE = 'datasets/nyu-mll/glue/resolve/main/rte/validation-00000-of-00001.parquet';
const served: Record<string, string> = { ...files, [`hubroot/${HUB_FILE}`]: 'PAR1 not really\n' };
let server: Server;
let url = '';
let requests: string[] = [];

beforeAll(async () => {
  // The in-place mode (../shared or TASKSCOPE_SHARED) is not what these tests drive.
  delete process.env.TASKSCOPE_SHARED;
  delete process.env.TASKSCOPE_MIRROR;
  for (const [p, body] of Object.entries(files)) {
    mkdirSync(resolve(mirrorDir, p, '..'), { recursive: true });
    writeFileSync(resolve(mirrorDir, p), body);
  }
  mkdirSync(checkout);
  server = createServer((req, res) => {
    requests.push(req.url ?? '');
    const body = served[decodeURIComponent((req.url ?? '').slice(1))];
    res.statusCode = body === undefined ? 404 : 200;
    res.end(body ?? 'no');
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((ok) => server.close(() => ok())));

const run = async (o: { mirror?: string; entries?: AssetEntry[] }) => {
  const lines: string[] = [];
  const code = await runAssets({ root: checkout, progress: false, entries, ...o }, (l) => lines.push(l));
  return { code, lines };
};

describe('taskscope assets', () => {
  it('without a mirror names the option and fetches nothing', async () => {
    await expect(run({})).rejects.toThrow(
      `2 asset files missing in ${checkout}/.cache/shared and no mirror: pass --mirror <url|folder> (or set TASKSCOPE_MIRROR)`,
    );
  });

  it('downloads every file from an HTTP mirror into .cache/shared, then finds them present', async () => {
    requests = [];
    expect(await run({ mirror: url })).toEqual({
      code: 0,
      lines: [`fetching 2 of 2 files (0.0 MiB) from ${url} into ${checkout}/.cache/shared`, `fetched 2 files into ${checkout}/.cache/shared`],
    });
    expect(requests).toEqual(['/assets/glue/RTE/dev.tsv', '/tools/refbert/refbert.py']);
    expect(readFileSync(join(checkout, '.cache/shared/assets/glue/RTE/dev.tsv'), 'utf8')).toBe(files['assets/glue/RTE/dev.tsv']);
    requests = [];
    expect(await run({ mirror: url })).toEqual({ code: 0, lines: [`all 2 files present in ${checkout}/.cache/shared (SHA-256 checked)`] });
    expect(requests).toEqual([]);
  });

  it('refuses a file whose SHA-256 differs and keeps the good copy already stored', async () => {
    const wrong = [{ ...entries[0], sha256: '0'.repeat(64) }];
    await expect(run({ mirror: url, entries: wrong })).rejects.toThrow(
      `${url}/assets/glue/RTE/dev.tsv: SHA-256 ${entries[0].sha256} does not match the manifest's ${'0'.repeat(64)} for assets/glue/RTE/dev.tsv`,
    );
    expect(readFileSync(join(checkout, '.cache/shared/assets/glue/RTE/dev.tsv'), 'utf8')).toBe(files['assets/glue/RTE/dev.tsv']);
  });

  it('takes a folder as mirror and names a file the mirror lacks', async () => {
    const fresh = mkdtempSync(join(base, 'c2-'));
    const lines: string[] = [];
    expect(await runAssets({ root: fresh, mirror: mirrorDir, progress: false, entries }, (l) => lines.push(l))).toBe(0);
    expect(readFileSync(join(fresh, '.cache/shared/tools/refbert/refbert.py'), 'utf8')).toBe('print(1)\n');
    await expect(runAssets({ root: fresh, mirror: url, progress: false, entries: [entry('assets/none.txt', 'x')] }, () => {})).rejects.toThrow(
      `${url}: assets/none.txt not found`,
    );
  });
});

describe('taskscope assets --hub', () => {
  it('takes files under assets/hub/ from the Hub layout at --hub and the rest from the mirror', async () => {
    const fresh = mkdtempSync(join(base, 'c3-'));
    requests = [];
    const hubEntry = entry(`assets/hub/${HUB_FILE}`, 'PAR1 not really\n');
    expect(await runAssets({ root: fresh, mirror: url, hub: `${url}/hubroot`, progress: false, entries: [hubEntry, entries[1]] }, () => {})).toBe(0);
    expect(requests).toEqual([`/hubroot/${HUB_FILE}`, '/tools/refbert/refbert.py']);
    expect(readFileSync(join(fresh, '.cache/shared/assets/hub', HUB_FILE), 'utf8')).toBe('PAR1 not really\n');
  });
});

describe('the committed manifest', () => {
  it('lists the Hub GLUE Parquet files at their Hub paths, BERT-Tiny and the large fixture', () => {
    const paths = ASSET_MANIFEST.map((e) => e.path);
    expect(paths).toContain(`assets/hub/${hubParquetPath(getTask('rte'), getSplit(getTask('rte'), 'dev'))}`);
    expect(paths).toContain('assets/models/bert-tiny-uncased/vocab.txt');
    expect(paths).toContain('assets/fixtures/bert-tiny-arch-random/model.safetensors');
    expect(ASSET_MANIFEST.find((e) => e.path === 'assets/models/bert-tiny-uncased/vocab.txt')).toMatchObject({ bytes: 231508 });
    // random-tiny is committed under tests/fixtures, so the manifest does not fetch it.
    expect(paths.filter((p) => p.includes('random-tiny'))).toEqual([]);
  });

  it('rejects an entry with a bad field, naming it', () => {
    expect(() => parseManifest({ description: '', files: [{ path: 'assets/../x', bytes: 1, sha256: 'a'.repeat(64) }] }, 'm.json')).toThrow(
      'm.json: files.0.path: no ".." segments',
    );
    expect(() => parseManifest({ description: '', files: [{ path: 'assets/x', bytes: 1, sha256: 'abc' }] }, 'm.json')).toThrow(
      'm.json: files.0.sha256: 64 lowercase hex digits',
    );
  });
});
