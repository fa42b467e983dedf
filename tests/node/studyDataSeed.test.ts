import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../helpers/shared.ts';
import { parseStudy } from '../../src/cli/study/studyConfig.ts';
import { armJobs, type StudyJob } from '../../src/cli/study/studyJobs.ts';
import { parseExperiment } from '../../src/engine/experiment/experimentSchema.ts';
import { syntheticRunData } from '../../src/cli/experimentDataSource.ts';
import { writeJson } from '../helpers/studyFixtures.ts';

/**
 * Issue #19: every job of a study, whatever its command, generates (or subsets) its data from the job's own
 * seed. Select jobs used to carry no top-level seed, so every seed of a select arm drew the same rows (2018).
 */
const out = mkdtempSync(join(tmpdir(), 'ts-study-seed-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

const FILE = join(repoRoot, 'experiments/studies/planted-fidelity.json');
const study = parseStudy({ ...JSON.parse(readFileSync(FILE, 'utf8')), out }, FILE);
// The results later arms read (importanceFrom, randomTasksLike), fabricated for every seed.
for (const seed of study.seeds) {
  const matrices = Object.fromEntries(study.tasks.map((t) => [t, [[0.5, 0.5]]]));
  writeJson(join(out, 'importance', `seed-${seed}`, 'result.json'), { target: 'PL-MARK', chosen: [], reasons: { importance: { matrices } } });
  writeJson(join(out, 'gradts-trial-MARK', `seed-${seed}`, 'result.json'), { target: 'PL-MARK', chosen: ['PL-MARK-COUNT'], reasons: {} });
}
const jobs = study.arms.flatMap((arm) => armJobs(study, arm));

/** The experiment whose seed draws the job's rows: its own config, or for prune the checkpoint's training run. */
function dataExperiment(job: StudyJob): Record<string, unknown> {
  if (job.command === 'pipeline') return job.config.mtl as Record<string, unknown>;
  if (job.command !== 'prune') return job.config;
  const model = job.config.model as string;
  const trained = jobs.find((j) => j.command === 'train' && join(j.dir, 'run', 'checkpoint') === model);
  if (!trained) throw new Error(`no train job writes ${model}`);
  return trained.config;
}

describe('planted-fidelity study: the data seed of every job', () => {
  it('covers every arm and job kind of the study', () => {
    expect(new Set(jobs.map((j) => j.command))).toEqual(new Set(['select', 'train', 'prune']));
    expect(jobs).toHaveLength(study.arms.length * study.seeds.length);
  });

  it.each(study.arms.map((a) => a.name))("arm %s: each job's experiment seed is the job's seed", (arm) => {
    const mine = jobs.filter((j) => j.arm.name === arm);
    expect(mine.map((j) => j.seed)).toEqual(study.seeds);
    for (const job of mine) {
      const { selection: _s, ...exp } = dataExperiment(job);
      expect(parseExperiment(exp, job.dir).seed).toBe(job.seed);
    }
  });

  it("two seeds of a select job generate different rows; the same seed the single arm's rows", () => {
    const rows = (job: StudyJob) => {
      const { selection: _s, ...exp } = job.config;
      // 20 rows of one task are enough to tell two draws apart and cheap to generate.
      const small = parseExperiment({ ...exp, tasks: [{ name: 'PL-MARK' }], data: { kind: 'synthetic', trainRows: 20, devRows: 4 } }, job.dir);
      return Array.from(syntheticRunData(small).data['PL-MARK'].train.ids);
    };
    const select = jobs.filter((j) => j.arm.name === 'fastmtl-MARK');
    const single = jobs.filter((j) => j.arm.name === 'single');
    expect(rows(select[0])).not.toEqual(rows(select[1]));
    expect(rows(select[0])).toEqual(rows(single[0]));
    expect(rows(select[1])).toEqual(rows(single[1]));
  });
});
