import { describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { FIXTURE_NAMES, fixtureModelDir, loadFixture, repoRoot } from '../helpers/shared.ts';
import { maxAbsDiff } from '../helpers/compare.ts';

const run = promisify(execFile);
const BIN = resolve(repoRoot, 'bin/taskscope.mjs');
const TOL = 1e-4;

function pairsFile(examples: any[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'ts-encode-'));
  const file = join(dir, 'pairs.jsonl');
  writeFileSync(file, examples.map((e) => JSON.stringify(e.text_b === null ? { a: e.text_a } : { a: e.text_a, b: e.text_b })).join('\n') + '\n');
  return file;
}

async function taskscope(args: string[]) {
  return run(process.execPath, [BIN, ...args], { cwd: repoRoot, maxBuffer: 256 * 1024 * 1024 });
}

describe('taskscope encode (the CLI contract used to check the engine)', () => {
  for (const name of FIXTURE_NAMES) {
    for (const backend of ['cpu', 'wasm']) {
      it(`${name} on ${backend}: ids identical; hidden states, pooled and attentions within 1e-4`, async () => {
        const fx = loadFixture(name);
        const { stdout } = await taskscope([
          'encode',
          '--model',
          fixtureModelDir(name),
          '--pairs',
          pairsFile(fx.examples),
          '--max-len',
          String(fx.max_seq_len),
          '--attentions',
          '--backend',
          backend,
        ]);
        const rows = stdout
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l));
        expect(rows).toHaveLength(fx.examples.length);
        const L = fx.config.num_hidden_layers;
        let worst = 0;
        rows.forEach((r, i) => {
          const e = fx.examples[i];
          const n = e.n_tokens;
          expect(r.input_ids).toEqual(e.input_ids);
          expect(r.token_type_ids).toEqual(e.token_type_ids);
          expect(r.attention_mask).toEqual(e.attention_mask);
          expect(r.last_hidden_state).toHaveLength(n);
          worst = Math.max(
            worst,
            maxAbsDiff(r.last_hidden_state, e.hidden_states[L].slice(0, n)),
            maxAbsDiff(r.pooled, e.pooled),
            maxAbsDiff(
              r.attentions,
              e.attentions.map((layer: number[][][]) => layer.map((head) => head.slice(0, n).map((row) => row.slice(0, n)))),
            ),
          );
        });
        expect(worst).toBeLessThan(TOL);
      });
    }
  }

  it('names the file and line of a malformed pairs line', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ts-encode-'));
    const file = join(dir, 'bad.jsonl');
    writeFileSync(file, '{"a": "fine"}\n{"a": 3}\n');
    await expect(
      taskscope(['encode', '--model', fixtureModelDir('random-tiny'), '--pairs', file, '--max-len', '16', '--backend', 'cpu']),
    ).rejects.toMatchObject({ code: 1, stderr: expect.stringContaining(`${file}:2: field "a" must be a string`) });
  });

  it('rejects an unknown backend and a bad --max-len with clear messages', async () => {
    const file = pairsFile([{ text_a: 'hi', text_b: null }]);
    await expect(
      taskscope(['encode', '--model', fixtureModelDir('random-tiny'), '--pairs', file, '--max-len', '16', '--backend', 'webgl']),
    ).rejects.toMatchObject({ stderr: expect.stringContaining('--backend must be one of wasm, cpu, got "webgl"') });
    await expect(taskscope(['encode', '--model', fixtureModelDir('random-tiny'), '--pairs', file, '--max-len', 'ten'])).rejects.toMatchObject({
      stderr: expect.stringContaining('--max-len must be an integer >= 2, got "ten"'),
    });
  });
});
