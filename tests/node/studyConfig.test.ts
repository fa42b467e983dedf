import { describe, expect, it } from 'vitest';
import { readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { repoRoot } from '../helpers/shared.ts';
import { parseStudy } from '../../src/cli/study/studyConfig.ts';
import { armJobs } from '../../src/cli/study/studyJobs.ts';
import { FILE, STUDY_DIR, study } from '../helpers/studyFixtures.ts';

describe('parseStudy', () => {
  it('resolves outDir relative to the study file (default and explicit)', () => {
    const s = parseStudy(study([{ name: 'a', mode: 'single' }]), FILE);
    expect(s.dir).toBe(STUDY_DIR);
    expect(s.outDir).toBe('/r/runs/studies/st');
    expect(s.about).toBe('');
    expect(s.arms[0].experiment).toEqual({});
    expect(s.arms[0].finetune).toEqual({});
    expect(parseStudy(study([{ name: 'a', mode: 'single' }], { out: 'out/here' }), FILE).outDir).toBe('/r/experiments/studies/out/here');
    expect(parseStudy(study([{ name: 'a', mode: 'single' }], { out: '/abs/out' }), FILE).outDir).toBe('/abs/out');
  });

  it('names the field of a schema error', () => {
    expect(() =>
      parseStudy(
        study([
          { name: 'a', mode: 'single' },
          { name: 'bad name', mode: 'multi' },
        ]),
        FILE,
      ),
    ).toThrow(`${FILE}: invalid study\n  arms.1.name: letters, digits, . _ - only`);
    expect(() => parseStudy(study([{ name: 'a', mode: 'single' }], { seeds: [] }), FILE)).toThrow(
      /^\/r\/experiments\/studies\/st\.json: invalid study\n {2}seeds: /,
    );
    expect(() => parseStudy(study([{ name: 'a', mode: 'twice' }]), FILE)).toThrow(/\n {2}arms\.0\.mode: /);
  });

  it('rejects a baseline that is not an arm', () => {
    expect(() =>
      parseStudy(
        study(
          [
            { name: 'a', mode: 'single' },
            { name: 'b', mode: 'single' },
          ],
          { baseline: 'c' },
        ),
        FILE,
      ),
    ).toThrow(`${FILE}: baseline: c is not one of the arms (a, b)`);
    expect(parseStudy(study([{ name: 'a', mode: 'single' }], { baseline: 'a' }), FILE).baseline).toBe('a');
  });

  it('rejects a duplicate arm and a select arm without selection', () => {
    expect(() =>
      parseStudy(
        study([
          { name: 'a', mode: 'single' },
          { name: 'b', mode: 'multi' },
          { name: 'a', mode: 'multi' },
        ]),
        FILE,
      ),
    ).toThrow(`${FILE}: arms: a is listed twice`);
    expect(() => parseStudy(study([{ name: 's', mode: 'select' }]), FILE)).toThrow(`${FILE}: arm s: mode select needs a "selection" object`);
  });

  it.each(['tasksFrom', 'randomTasksLike', 'importanceFrom'])('%s must name an earlier arm', (key) => {
    const sel = { name: 'sel', mode: 'select', selection: { method: 'gradts-trial', target: 'RTE' } };
    const user = { name: 'user', mode: key === 'importanceFrom' ? 'select' : 'multi', selection: sel.selection };
    // A later arm, an unknown arm and the arm itself are all refused; an earlier one is accepted.
    expect(() => parseStudy(study([{ ...user, [key]: { arm: 'sel' } }, sel]), FILE)).toThrow(`${FILE}: arm user: ${key}.arm sel is not an earlier arm`);
    expect(() => parseStudy(study([sel, { ...user, [key]: { arm: 'nope' } }]), FILE)).toThrow(`${FILE}: arm user: ${key}.arm nope is not an earlier arm`);
    expect(() => parseStudy(study([sel, { ...user, [key]: { arm: 'user' } }]), FILE)).toThrow(`${FILE}: arm user: ${key}.arm user is not an earlier arm`);
    expect(parseStudy(study([sel, { ...user, [key]: { arm: 'sel' } }]), FILE).arms[1][key as 'tasksFrom']).toEqual({ arm: 'sel' });
  });
});

describe('experiments/studies', () => {
  const folder = resolve(repoRoot, 'experiments/studies');
  const files = readdirSync(folder).filter((f) => f.endsWith('.json'));
  it.each(files)('%s parses, and its arms that need no earlier result expand', (f) => {
    const file = join(folder, f);
    const s = parseStudy(JSON.parse(readFileSync(file, 'utf8')), file);
    expect(s.outDir).toBe(resolve(repoRoot, 'runs/studies', s.name));
    for (const arm of s.arms.filter((a) => !a.tasksFrom && !a.randomTasksLike && !a.importanceFrom && !a.trialSelectionFrom)) {
      const jobs = armJobs(s, arm);
      const perSeed = arm.mode === 'single' ? (arm.tasks ?? s.tasks).length : 1;
      expect(jobs).toHaveLength((arm.seeds ?? s.seeds).length * perSeed);
    }
  });
});
