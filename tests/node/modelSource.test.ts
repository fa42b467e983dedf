import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { FIXTURE_NAMES, fixtureModelDir, type FixtureName } from '../helpers/shared.ts';
import { loadBertCheckpoint } from '../../src/engine/checkpoint/hfFolder.ts';
import { filesSource, urlSource } from '../../src/engine/checkpoint/modelSource.ts';
import { dirSource } from '../../src/engine/platform/node/nodeSource.ts';
import { expectRejects, firstBitDifference } from '../helpers/checkpointAsserts.ts';

describe('model sources', () => {
  let server: Server;
  let base: string;
  const requests: string[] = [];
  beforeAll(async () => {
    server = createServer((req, res) => {
      requests.push(`${req.method} ${req.url}`);
      // /<fixture name>/<file>: each fixture folder wherever it lives (tests/fixtures or the assets cache).
      const [name, ...rest] = decodeURIComponent((req.url ?? '').slice(1)).split('/');
      const dir = (FIXTURE_NAMES as readonly string[]).includes(name) ? fixtureModelDir(name as FixtureName) : null;
      const file = dir ? resolve(dir, rest.join('/')) : '';
      if (!dir || !file.startsWith(dir + '/') || !statSync(file, { throwIfNoEntry: false })?.isFile()) {
        res.writeHead(404, 'Not Found').end('not here');
        return;
      }
      const body = readFileSync(file);
      res.writeHead(200, { 'Content-Length': body.length });
      res.end(req.method === 'HEAD' ? undefined : body);
    });
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((ok) => server.close(() => ok())));

  it('urlSource loads a fixture folder over HTTP, with download progress, identical to dirSource', async () => {
    const progress: [number, number | undefined][] = [];
    const viaUrl = await loadBertCheckpoint(urlSource(`${base}/random-tiny/`), { onProgress: (l, t) => progress.push([l, t]) });
    const viaDir = await loadBertCheckpoint(dirSource(fixtureModelDir('random-tiny')));
    expect(viaUrl.origin).toBe(`${base}/random-tiny`);
    expect(viaUrl.config).toEqual(viaDir.config);
    expect(viaUrl.vocabText).toBe(viaDir.vocabText);
    for (const [name, t] of viaDir.tensors) expect(firstBitDifference(viaUrl.tensors.get(name)!.data, t.data)).toBe(-1);
    expect(progress[0]).toEqual([0, 111088]);
    expect(progress.at(-1)).toEqual([111088, 111088]);
    expect(progress.every(([l], i) => i === 0 || l >= progress[i - 1][0])).toBe(true);
    expect(requests).toContain('HEAD /random-tiny/model.safetensors');
  });

  it('HTTP errors name the URL and the status', async () => {
    await expectRejects(urlSource(`${base}/random-tiny`).readText('nope.json'), `${base}/random-tiny/nope.json: HTTP 404 Not Found`);
    await expectRejects(loadBertCheckpoint(urlSource(`${base}/no-such-model`)), `${base}/no-such-model/config.json: HTTP 404 Not Found`);
    expect(await urlSource(`${base}/random-tiny`).has('pytorch_model.bin')).toBe(false);
    await expectRejects(urlSource('http://127.0.0.1:1/x').readText('config.json'), 'http://127.0.0.1:1/x/config.json: GET failed: fetch failed');
  });

  it('filesSource matches basenames, prefers the shallowest copy, and rejects ambiguous picks', async () => {
    const source = filesSource(
      new Map<string, Blob>([
        ['run/config.json', new Blob(['top'])],
        ['run/checkpoint-500/config.json', new Blob(['nested'])],
        ['run/a/vocab.txt', new Blob(['a'])],
        ['run/b/vocab.txt', new Blob(['b'])],
      ]),
    );
    expect(source.describe()).toBe('run');
    expect(await source.readText('config.json')).toBe('top');
    expect(await source.has('model.safetensors')).toBe(false);
    await expectRejects(source.readText('vocab.txt'), 'picked folder run: 2 files named vocab.txt were picked (run/a/vocab.txt, run/b/vocab.txt)');
    await expectRejects(source.readBytes('model.safetensors'), 'picked folder run: no file named model.safetensors among the picked files');
    const picked = filesSource([new File(['{}'], 'tokenizer_config.json')]);
    expect(picked.describe()).toBe('picked files');
    expect(await picked.readText('tokenizer_config.json')).toBe('{}');
  });

  it('dirSource names the missing path', async () => {
    const dir = fixtureModelDir('random-tiny');
    await expectRejects(dirSource(dir).readText('missing.json'), `${dir}/missing.json: file not found`);
  });
});
