import type { Command } from 'commander';
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { getTask } from '../../../datasets/glueTasks.ts';
import type { TaskName } from '../../../datasets/types.ts';
import { maskImportance } from '../../engine/analysis/headImportance.ts';
import { maskedDevEvaluator } from '../../engine/analysis/maskedDevScore.ts';
import { DEFAULT_FRACTIONS, pruningCurves } from '../../engine/analysis/pruningCurve.ts';
import { loadBertCheckpoint } from '../../engine/checkpoint/hfFolder.ts';
import { dirSource } from '../../engine/platform/node/nodeSource.ts';
import { parseExperiment } from '../../engine/experiment/experimentSchema.ts';
import { labelledBatches } from '../../engine/selection/gradtsMatrices.ts';
import { firstLabelledDevSplit } from '../../engine/train/runData.ts';
import { BertTokenizer } from '../../engine/tokenizer/bertTokenizer.ts';
import { subsetSplit } from '../../engine/train/memorySplit.ts';
import { modelFromExport } from '../../engine/train/trainedModel.ts';
import { dataSourceOf, syntheticRunData } from '../experimentDataSource.ts';
import { initNodeBackend } from '../nodeBackend.ts';
import { intOption, numberListOption } from '../optionValues.ts';
import { shardSplitLoader } from '../shardSplitLoader.ts';

interface PruneCliOptions {
  model: string;
  task: string;
  out?: string;
  backend: string;
  cache?: string;
  importanceRows: string;
  randomOrders: string;
  fractions?: string;
  seed: string;
}

/**
 * `taskscope prune`: Michel et al.'s head-pruning curve for one task of a trained run. Head importance is the
 * `mask` measure (per-example |∂loss/∂mask|, docs/methods.md decision 7) on the first N training rows, so the heads are
 * ranked without looking at dev; the dev metric is then taken with the least important heads masked first,
 * and with random orders as the baseline.
 */
export function registerPruneCommand(program: Command): void {
  program
    .command('prune')
    .description('head-pruning curve of a trained run: dev metric vs fraction of heads masked, importance order vs random orders')
    .requiredOption('--model <dir>', "a run's checkpoint folder (HF files + heads.json + experiment.json, as `taskscope train` writes)")
    .requiredOption('--task <task>', 'the task whose head and dev split are used')
    .option('--out <file.json>', 'where the curves go (default <model>/../pruning-<task>.json)')
    .option('--backend <name>', 'wasm | cpu', 'wasm')
    .option('--cache <dir>', 'token-shard cache (default <model>/../.prune-shards)')
    .option('--importance-rows <N>', 'training rows the importance is measured on (one backward each)', '256')
    .option('--random-orders <N>', 'random pruning orders for the baseline', '3')
    .option('--fractions <list>', `comma-separated fractions (default ${DEFAULT_FRACTIONS.join(',')})`)
    .option('--seed <N>', 'seed of the random orders and of the dropout-free measurement', '0')
    .action(async (o: PruneCliOptions) => {
      const note = (l: string) => process.stderr.write(`${l}\n`);
      const dir = resolve(o.model);
      const backend = await initNodeBackend(o.backend);
      const exp = parseExperiment(
        JSON.parse(
          await readFile(join(dir, 'experiment.json'), 'utf8').catch(() => {
            throw new Error(`--model: ${join(dir, 'experiment.json')} not found (not a Taskscope run checkpoint)`);
          }),
        ),
        join(dir, 'experiment.json'),
      );
      const synthetic = exp.data.kind === 'synthetic' ? syntheticRunData(exp) : null;
      const task = synthetic ? { name: o.task, splits: [] } : getTask(o.task as TaskName);
      if (!exp.tasks.some((t) => t.name === task.name))
        throw new Error(`--task: ${task.name} is not one of the run's tasks (${exp.tasks.map((t) => t.name).join(', ')})`);
      const ckpt = await loadBertCheckpoint(dirSource(dir));
      const model = modelFromExport(ckpt, await readFile(join(dir, 'heads.json'), 'utf8'), exp, join(dir, 'heads.json'), synthetic?.specs);
      const tokenizer = BertTokenizer.fromVocabText(ckpt.vocabText, { doLowerCase: ckpt.doLowerCase });
      // Generated data is regenerated from the run's experiment (same seed, same rows); GLUE goes through the shard cache.
      const load = synthetic
        ? null
        : shardSplitLoader(await dataSourceOf(exp, 'prune'), tokenizer, o.cache ? resolve(o.cache) : join(dirname(dir), '.prune-shards'));
      const devName = synthetic ? undefined : firstLabelledDevSplit(task.name as TaskName);
      const train = synthetic ? synthetic.data[task.name].train : await load!(task.name as TaskName, 'train', exp.maxLength);
      const dev = synthetic ? (synthetic.data[task.name].dev ?? null) : devName ? await load!(task.name as TaskName, devName, exp.maxLength) : null;
      if (!train || !dev) throw new Error(`${task.name}: the data needs a train and a labelled dev split`);
      const n = Math.min(intOption('importance-rows', o.importanceRows, 1), train.rows);
      const spec = model.slot(task.name).spec;
      const started = performance.now();
      const imp = await maskImportance(
        model.encoder,
        model.head(task.name),
        labelledBatches(
          subsetSplit(
            train,
            Array.from({ length: n }, (_, i) => i),
          ),
          spec,
          16,
        ),
        { perExample: true, taskId: model.taskId(task.name) },
      );
      const importanceSeconds = (performance.now() - started) / 1000;
      note(`${task.name}: mask importance on ${n} training rows in ${importanceSeconds.toFixed(1)} s (${backend})`);
      const fractions = o.fractions ? numberListOption('fractions', o.fractions, 0, 1) : undefined;
      const curves = await pruningCurves({
        importance: imp.normalized,
        evaluate: maskedDevEvaluator(model, task.name, dev, { batchSize: 64 }),
        fractions,
        randomOrders: intOption('random-orders', o.randomOrders, 0),
        seed: o.seed,
        onPoint: (curve, p) =>
          note(
            `  ${curve === 'importance' ? 'importance' : `random ${curve}`} ${(100 * p.fraction).toFixed(0)}% (${p.pruned} heads): ${(100 * p.score).toFixed(2)}`,
          ),
      });
      const rows = curves.fractions.map(
        (f, i) =>
          `| ${(100 * f).toFixed(0)}% | ${curves.importance.points[i].pruned} | ${(100 * curves.importance.points[i].score).toFixed(2)} | ${(100 * curves.randomSummary[i].mean).toFixed(2)} ± ${(100 * curves.randomSummary[i].std).toFixed(2)} |`,
      );
      const table = [
        `${task.name} dev score ×100 (${spec.metrics.join('/')} mean) with heads masked; random = mean ± std over ${curves.random.length} orders`,
        '',
        '| pruned | heads | importance order | random order |',
        '|---|---|---|---|',
        ...rows,
      ].join('\n');
      process.stdout.write(`${table}\n`);
      const out = resolve(o.out ?? join(dirname(dir), `pruning-${task.name}.json`));
      await mkdir(dirname(out), { recursive: true });
      await writeFile(
        out,
        `${JSON.stringify({ task: task.name, model: dir, backend, importanceRows: n, importanceSeconds, headImportance: imp.normalized, rawHeadImportance: imp.raw, ...curves }, null, 2)}\n`,
      );
      note(`wrote ${out}`);
      model.dispose();
    });
}
