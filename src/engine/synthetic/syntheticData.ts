import { BertTokenizer } from '../tokenizer/bertTokenizer.ts';
import { memorySplit, type TokenizedRow } from '../train/memorySplit.ts';
import type { TaskSplits } from '../train/trainer.ts';
import { generatePlantedTask } from './plantedTasks.ts';
import { syntheticSpec } from './syntheticSpecs.ts';
import { generateSyntheticTask, syntheticVocabText, SYNTHETIC_TASKS, type SyntheticExample, type SyntheticTaskName } from './syntheticTasks.ts';

export { SYNTHETIC_SPECS, syntheticSpec } from './syntheticSpecs.ts';

/**
 * Every generated task (the offline demo's SYN-* and the planted-relations PL-*), as task specs and
 * tokenized in-memory splits (the same layout as cached GLUE shards). The same seed gives the same rows,
 * which is what lets a reloaded page or a rerun CLI command resume a run.
 */

/** Dev examples come from a different generator stream than training ones. */
export const DEV_SEED_OFFSET = 1_000_003;

export function syntheticTokenizer(): BertTokenizer {
  return BertTokenizer.fromVocabText(syntheticVocabText(), { doLowerCase: true, source: 'synthetic vocabulary' });
}

export interface SyntheticSplitOptions {
  trainRows: number;
  devRows: number;
  seed: number;
  maxLength: number;
  /** Label noise of the planted tasks (the demo tasks have none). */
  noise?: number;
}

export function generateSyntheticExamples(task: string, count: number, seed: number, noise = 0): SyntheticExample[] {
  if ((SYNTHETIC_TASKS as readonly string[]).includes(task)) return generateSyntheticTask(task as SyntheticTaskName, count, seed);
  return generatePlantedTask(task, count, seed, { noise });
}

export function syntheticSplits(tasks: readonly string[], opts: SyntheticSplitOptions): Record<string, TaskSplits> {
  const tok = syntheticTokenizer();
  const rowsOf = (task: string, count: number, seed: number): TokenizedRow[] =>
    generateSyntheticExamples(task, count, seed, opts.noise).map((ex) => {
      const enc = tok.encode(ex.textA, ex.textB, { maxLength: opts.maxLength, padding: 'none' });
      const segmentA = enc.tokenTypeIds.filter((t) => t === 0).length;
      return { ids: enc.inputIds, segmentA, label: ex.label, uid: ex.uid };
    });
  const out: Record<string, TaskSplits> = {};
  for (const name of tasks) {
    const spec = syntheticSpec(name);
    out[name] = {
      train: memorySplit(name, 'train', rowsOf(name, opts.trainRows, opts.seed), { type: spec.type }),
      dev: opts.devRows > 0 ? memorySplit(name, 'dev', rowsOf(name, opts.devRows, opts.seed + DEV_SEED_OFFSET), { type: spec.type }) : undefined,
    };
  }
  return out;
}
