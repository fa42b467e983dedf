// A tiny, fully seeded training run shared by the fault tests and the child process they kill (no vitest
// import here: the child runs under plain node + tsx).
import { parseExperiment, type Experiment } from '../../../src/engine/experiment/experimentSchema.ts';
import { Rng } from '../../../src/engine/runtime/rng.ts';
import { memorySplit, type TokenizedRow } from '../../../src/engine/train/memorySplit.ts';
import { buildEncoder, buildMultiTaskModel } from '../../../src/engine/model/modelFactory.ts';
import { Trainer, type TaskSplits } from '../../../src/engine/train/trainer.ts';
import type { TrainStateStore } from '../../../src/engine/train/trainState.ts';
import type { StateFs } from '../../../src/engine/platform/node/folderTrainStateStore.ts';

const VOCAB = 40;

/** 8 optimiser steps (2 tasks × 16 rows / batch 4), a checkpoint every 3 steps and at the epoch's end (3, 6, 8). */
export function faultExperiment(): Experiment {
  return parseExperiment({
    name: 'fault',
    tasks: [{ name: 'RTE' }, { name: 'STS-B' }],
    model: { kind: 'random', layers: 1, hidden: 16, heads: 2, intermediate: 32, vocab: 'synthetic' },
    data: { kind: 'synthetic' },
    optimizer: { kind: 'adamax', lr: 2e-3 },
    batchSize: 4,
    evalBatchSize: 16,
    epochs: 1,
    checkpointEvery: 3,
    seed: 7,
  });
}

function rows(kind: 'pair' | 'score', n: number, seed: string): TokenizedRow[] {
  const rng = new Rng(seed);
  const word = () => 5 + rng.int(VOCAB - 5);
  return Array.from({ length: n }, (_, i) => {
    const a = Array.from({ length: 2 + rng.int(4) }, word);
    if (kind === 'pair') {
      const b = Array.from({ length: 2 + rng.int(4) }, word);
      return { ids: [2, ...a, 3, ...b, 3], segmentA: a.length + 2, label: i % 2, uid: `p${i}` };
    }
    return { ids: [2, ...a, 3], label: rng.int(51) / 10, uid: `s${i}` };
  });
}

export function faultData(): Record<string, TaskSplits> {
  const split = (task: string, kind: 'pair' | 'score', s: 'train' | 'dev', n: number) =>
    memorySplit(task, s, rows(kind, n, `${task}/${s}`), { type: kind === 'pair' ? 'classification' : 'regression' });
  return {
    RTE: { train: split('RTE', 'pair', 'train', 16), dev: split('RTE', 'pair', 'dev', 8) },
    'STS-B': { train: split('STS-B', 'score', 'train', 16), dev: split('STS-B', 'score', 'dev', 8) },
  };
}

export function faultTrainer(store?: TrainStateStore): Trainer {
  const exp = faultExperiment();
  const model = buildMultiTaskModel(exp, buildEncoder(exp, { vocabSize: VOCAB }));
  return new Trainer({ experiment: exp, model, data: faultData(), store });
}

/** A file layer that dies at its k-th mutating operation (mkdir, writeFile, rename, rm), before or after doing it. */
export function dyingFs(base: StateFs, at: number, when: 'before' | 'after', die: (op: string) => never): StateFs & { log: string[] } {
  let n = 0;
  const log: string[] = [];
  const step = async <T>(op: string, f: () => Promise<T>): Promise<T> => {
    n++;
    if (n === at && when === 'before') die(op);
    const r = await f();
    log.push(op);
    if (n === at && when === 'after') die(op);
    return r;
  };
  return {
    log,
    mkdir: (p) => step(`mkdir ${p}`, () => base.mkdir(p)),
    writeFile: (p, d) => step(`write ${p}${typeof d === 'string' ? ` = ${d.trim()}` : ''}`, () => base.writeFile(p, d)),
    rename: (a, b) => step(`rename ${a} -> ${b}`, () => base.rename(a, b)),
    rm: (p) => step(`rm ${p}`, () => base.rm(p)),
    readFile: (p) => base.readFile(p),
    readdir: (p) => base.readdir(p),
  };
}
