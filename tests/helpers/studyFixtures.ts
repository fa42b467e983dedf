import { afterAll } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/** Fabricated studies for the study tests: pure, or files in a temp folder; no child process, no training. */
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
export function tempRoot(): string {
  const d = mkdtempSync(join(tmpdir(), 'ts-study-'));
  dirs.push(d);
  return d;
}

export const writeJson = (file: string, value: unknown) => {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(value, null, 2)}\n`);
};

export const BASE = {
  model: { kind: 'dir', path: '../runs/mlm' },
  data: { kind: 'glue-dir', path: 'glue' },
  optimizer: { kind: 'adamw', lr: 0.0005 },
  epochs: 2,
};

export function study(arms: unknown[], extra: Record<string, unknown> = {}) {
  return { name: 'st', seeds: [1, 2], base: BASE, tasks: [{ name: 'RTE', maxTrainRows: 50 }, 'MRPC', 'WNLI', 'CoLA', 'SST-2'], arms, ...extra };
}

// The study file lives at <root>/experiments/studies/st.json; it need not exist for parseStudy.
export const ROOT = '/r';
export const FILE = '/r/experiments/studies/st.json';
export const STUDY_DIR = '/r/experiments/studies';

/** BASE with its paths made absolute against the study folder, as armJobs writes them into a job's config. */
export const absBase = {
  ...BASE,
  model: { kind: 'dir', path: `${ROOT}/experiments/runs/mlm` },
  data: { kind: 'glue-dir', path: `${STUDY_DIR}/glue` },
};
