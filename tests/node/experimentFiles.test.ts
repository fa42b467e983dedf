import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseExperiment } from '../../src/engine/experiment/experimentSchema.ts';

/*
 * The experiment configs under experiments/ are what the README's learning results cite; a schema change that
 * stops one from parsing would silently break the commands quoted there.
 */
const folder = resolve(import.meta.dirname, '../../experiments');
const files = readdirSync(folder).filter((f) => f.endsWith('.json'));

describe('experiments/*.json', () => {
  it('holds the configs the README cites', () => {
    expect(files).toEqual(expect.arrayContaining(['mrpc-random-l2h128.json', 'sst2-random-l2h128.json', 'mrpc-random-l2h128-8ep.json']));
  });

  it.each(files)('%s parses under the experiment schema, naming itself and a real task', (f) => {
    const raw = JSON.parse(readFileSync(join(folder, f), 'utf8')) as { name: string };
    const exp = parseExperiment(raw, f);
    expect(exp.name).toBe(f.replace(/\.json$/, ''));
    expect(exp.tasks.length).toBeGreaterThan(0);
  });
});
