import { generateSyntheticTask, syntheticVocabText, SYNTHETIC_TASKS, type SyntheticTaskName } from '../../src/engine/synthetic/syntheticTasks.ts';
import { BertTokenizer } from '../../src/engine/tokenizer/bertTokenizer.ts';
import { memorySplit, type TokenizedRow } from '../../src/engine/train/memorySplit.ts';
import type { TaskSpec } from '../../src/engine/model/taskSpec.ts';
import type { TaskSplits } from '../../src/engine/train/trainer.ts';

/**
 * The offline demo's data: the synthetic tasks generated from the experiment's seed, tokenized with the
 * synthetic vocabulary into in-memory splits (the same layout as cached GLUE shards). Regenerating with the
 * same seed gives the same rows, which is what lets a reloaded page resume the run.
 */

export const SYNTHETIC_SPECS: Record<SyntheticTaskName, TaskSpec> = {
  'SYN-FIRST': { name: 'SYN-FIRST', type: 'classification', numLabels: 2, metrics: ['acc'], dropout: 0.1 },
  'SYN-CONTAINS': { name: 'SYN-CONTAINS', type: 'classification', numLabels: 2, metrics: ['acc'], dropout: 0.1 },
  'SYN-MATCH': { name: 'SYN-MATCH', type: 'classification', numLabels: 2, metrics: ['acc', 'f1'], dropout: 0.1 },
  'SYN-COUNT': { name: 'SYN-COUNT', type: 'regression', numLabels: 1, metrics: ['pearson', 'spearman'], dropout: 0.1 },
};

/** Dev examples come from a different generator stream than training ones. */
const DEV_SEED_OFFSET = 1_000_003;

export function syntheticTokenizer(): BertTokenizer {
  return BertTokenizer.fromVocabText(syntheticVocabText(), { doLowerCase: true, source: 'synthetic vocabulary' });
}

function isSyntheticName(name: string): name is SyntheticTaskName {
  return (SYNTHETIC_TASKS as readonly string[]).includes(name);
}

export function syntheticSpec(name: string): TaskSpec {
  if (!isSyntheticName(name)) throw new Error(`synthetic demo: unknown task ${name} (known: ${SYNTHETIC_TASKS.join(', ')})`);
  return SYNTHETIC_SPECS[name];
}

export function syntheticSplits(tasks: readonly string[], opts: { trainRows: number; devRows: number; seed: number; maxLength: number }): Record<string, TaskSplits> {
  const tok = syntheticTokenizer();
  const rowsOf = (task: SyntheticTaskName, count: number, seed: number): TokenizedRow[] =>
    generateSyntheticTask(task, count, seed).map((ex) => {
      const enc = tok.encode(ex.textA, ex.textB, { maxLength: opts.maxLength, padding: 'none' });
      const segmentA = enc.tokenTypeIds.filter((t) => t === 0).length;
      return { ids: enc.inputIds, segmentA, label: ex.label, uid: ex.uid };
    });
  const out: Record<string, TaskSplits> = {};
  for (const name of tasks) {
    const spec = syntheticSpec(name);
    const task = name as SyntheticTaskName;
    out[name] = {
      train: memorySplit(name, 'train', rowsOf(task, opts.trainRows, opts.seed), { type: spec.type }),
      dev: opts.devRows > 0 ? memorySplit(name, 'dev', rowsOf(task, opts.devRows, opts.seed + DEV_SEED_OFFSET), { type: spec.type }) : undefined,
    };
  }
  return out;
}
