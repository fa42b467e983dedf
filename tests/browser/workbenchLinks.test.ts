import { deflateSync, strToU8 } from 'fflate';
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { Page } from 'playwright-core';
import { decodeAppState } from '../../src/urlState/appState.ts';
import { encodeHash, toBase64Url } from '../../src/urlState/hashCodec.ts';
import { hashFor, openTab, smallSynthetic, waitForApp } from './appHelpers.ts';
import { startBrowserHarness, type BrowserHarness } from './harness.ts';

/**
 * Links that cannot mislead, as a user meets them in Chromium: numbers that JSON cannot carry back are refused
 * naming the field, Copy link opens to the same state, hostile URL fields are refused, a new host is shown and
 * asked about before anything is fetched, names cannot flip the page, and a model too big for the device is
 * warned before training. No training runs here.
 */

let h: BrowserHarness;

beforeAll(async () => {
  h = await startBrowserHarness();
});

afterAll(async () => {
  await h?.close();
});

const rawHash = (json: string) => `#v1.${toBase64Url(deflateSync(strToU8(json)))}`;

async function open(hash: string): Promise<{ page: Page; errors: string[]; requests: string[] }> {
  const o = await h.open(`index.html${hash}`);
  const requests: string[] = [];
  o.page.on('request', (r) => requests.push(r.url()));
  await o.page.setViewportSize({ width: 1440, height: 900 });
  await waitForApp(o.page);
  return { ...o, requests };
}

test('1e400 in globalClip is refused naming the field, and Copy link opens to exactly the same state', async () => {
  const synthetic = JSON.stringify(smallSynthetic());
  const bad = await open(rawHash(`{"view": "experiment", "experiment": ${synthetic.slice(0, -1)}, "globalClip": 1e400}}`));
  expect(await bad.page.getByTestId('url-message').textContent()).toContain("the link's experiment is invalid (globalClip: must be a finite number");
  await bad.page.close();

  const hash = hashFor(
    {
      ...smallSynthetic(),
      name: 'round trip ✓',
      globalClip: 1e6,
      smart: { enabled: true, alpha: 0.25, noiseVar: 1e-5, stepSize: 1e-3, epsilon: 1e-6, steps: 2 },
      optimizer: { kind: 'adamw', lr: 3e-4, maxGradNorm: 0.5 },
    },
    { view: 'experiment' },
  );
  const { page, errors } = await open(hash);
  expect(await page.getByTestId('url-message').count()).toBe(0);
  await page.getByTestId('copy-link').click();
  const link = await page.getByTestId('share-link').inputValue();
  const linkHash = link.slice(link.indexOf('#'));
  expect(decodeAppState(linkHash)).toEqual(decodeAppState(hash));
  expect(decodeAppState(linkHash).error).toBeNull();
  const other = await open(linkHash);
  expect(await other.page.getByTestId('url-message').count()).toBe(0);
  expect(await other.page.getByTestId('exp-name').inputValue()).toBe('round trip ✓');
  expect(await other.page.getByTestId('exp-global-clip').inputValue()).toBe('1000000');
  expect(await other.page.getByTestId('exp-smart-alpha').inputValue()).toBe('0.25');
  expect(other.page.url().slice(other.page.url().indexOf('#'))).toBe(linkHash);
  expect([...errors, ...other.errors]).toEqual([]);
  await page.close();
  await other.page.close();
});

test('javascript:, file: and link-local URLs are refused; a new host is shown and nothing is fetched until allowed', async () => {
  const cases: [unknown, string][] = [
    [{ demo: { mirror: 'javascript:alert(1)' } }, 'demo.mirror: must be an http(s) URL or a relative path'],
    [{ demo: { model: 'file:///etc/passwd' } }, 'demo.model: must be a Hub repo (owner/name), an http(s) URL or a relative path'],
    [
      { experiment: { ...smallSynthetic(), tasks: [{ name: 'RTE' }], data: { kind: 'hub', mirror: 'http://169.254.169.254/latest' } } },
      'data.mirror: a link-local address (169.254.x.x) is refused',
    ],
    [
      { experiment: { ...smallSynthetic(), tasks: [{ name: 'RTE' }], data: { kind: 'glue-url', url: '//169.254.169.254/x' } } },
      'data.url: must be an http(s) URL or a relative path',
    ],
  ];
  const first = await open(`#${encodeHash(cases[0][0])}`);
  const page = first.page;
  expect(await page.getByTestId('url-message').textContent()).toContain(cases[0][1]);
  for (const [state, want] of cases.slice(1)) {
    await page.evaluate(
      (x) => {
        location.hash = x;
      },
      `#${encodeHash(state)}`,
    );
    await expect.poll(() => page.getByTestId('url-message').textContent(), { timeout: 10_000 }).toContain(want);
  }
  await page.close();

  const mirror = 'http://mirror.example:8080/hub';
  const { page: p, requests, errors } = await open(hashFor(smallSynthetic(), { demo: { mirror, model: 'https://models.example/bert' } }));
  const confirm = p.getByTestId('host-confirm');
  await confirm.waitFor();
  expect(await p.getByTestId('pending-host').allTextContents()).toEqual(['mirror.example:8080', 'models.example']);
  expect(await confirm.textContent()).toContain('(demo mirror)');
  expect(await confirm.textContent()).toContain('Nothing has been fetched.');
  await p.getByTestId('run-demo').click();
  await expect
    .poll(() => p.getByTestId('app-error').textContent())
    .toContain(
      'this link would fetch from hosts you have not used here: mirror.example:8080 (demo mirror); models.example (demo model). Nothing has been fetched',
    );
  expect(requests.filter((u) => /mirror\.example|models\.example/.test(u))).toEqual([]);
  // Refusing puts the defaults back; the address bar follows.
  await p.getByTestId('hosts-refuse').click();
  await expect.poll(() => confirm.count()).toBe(0);
  expect(await p.getByTestId('demo-mirror').inputValue()).toBe('https://huggingface.co');
  expect(decodeAppState(new URL(p.url()).hash).state.demo.mirror).toBe('https://huggingface.co');
  expect(requests.filter((u) => /mirror\.example|models\.example/.test(u))).toEqual([]);
  expect(errors).toEqual([]);

  // Allowing remembers the host in this browser: the same link opens without asking.
  await p.evaluate(
    (x) => {
      location.hash = x;
    },
    hashFor(smallSynthetic(), { demo: { mirror } }),
  );
  await confirm.waitFor();
  await p.getByTestId('hosts-allow').click();
  await expect.poll(() => confirm.count()).toBe(0);
  expect(await p.evaluate(() => localStorage.getItem('taskscope.knownHosts'))).toContain('mirror.example:8080');
  await p.reload();
  await waitForApp(p);
  expect(await p.getByTestId('host-confirm').count()).toBe(0);
  await p.close();
});

test('a name with U+202E and 150 combining marks is shown stripped; a 9.7-billion-parameter model is warned before training', async () => {
  const name = `evil\u202Eeman${'\u0301'.repeat(150)} run`;
  const { page, errors } = await open(hashFor({ ...smallSynthetic(), name }, { view: 'train' }));
  expect(await page.getByTestId('start-training').textContent()).toBe('Train “evileman run”');

  const huge = {
    ...smallSynthetic(),
    data: { kind: 'hub' as const },
    tasks: [{ name: 'RTE' }],
    model: { kind: 'random' as const, layers: 48, hidden: 4096, heads: 64, intermediate: 16384 },
    batchSize: 4096,
    maxLength: 512,
    epochs: 1000,
    backend: 'wasm' as const,
  };
  await page.evaluate(
    (x) => {
      location.hash = x;
    },
    hashFor(huge, { view: 'experiment' }),
  );
  await page.getByTestId('estimate-warnings').waitFor();
  expect(await page.getByTestId('estimate-params').textContent()).toBe('9,810,153,474');
  expect(await page.getByTestId('composer-status').textContent()).toBe('Valid, but see the warnings below.');
  const warnings = await page.getByTestId('estimate-warnings').locator('li').allTextContents();
  expect(warnings[0]).toMatch(/^This experiment needs about [\d.]+ TiB; the wasm backend can address 4 GiB\.$/);
  expect(await page.getByTestId('estimate-memory').textContent()).toMatch(/TiB$/);

  // The small synthetic experiment is not warned.
  await page.evaluate(
    (x) => {
      location.hash = x;
    },
    hashFor({ ...smallSynthetic(), backend: 'wasm' }, { view: 'experiment' }),
  );
  await expect.poll(() => page.getByTestId('composer-status').textContent()).toBe('Valid.');
  expect(await page.getByTestId('estimate-warnings').count()).toBe(0);

  // Three bad fields are three listed problems, in plain words.
  await page.getByTestId('exp-batch').fill('0');
  await page.getByTestId('exp-epochs').fill('0');
  await page.getByTestId('exp-lr').fill('5');
  await expect.poll(() => page.getByTestId('composer-status').textContent()).toBe('3 problems:');
  expect(await page.getByTestId('composer-problems').locator('li').allTextContents()).toEqual([
    'optimizer.lr: must be at most 1 (got 5)',
    'epochs: must be at least 0.01 (got 0)',
    'batchSize: must be at least 1 (got 0)',
  ]);
  await openTab(page, 'Start');
  expect(errors).toEqual([]);
  await page.close();
});
