import type { Command } from 'commander';
import { mkdir, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { packageRoot } from '../packageRoot.ts';
import { getTask } from '../../../datasets/glueTasks.ts';
import type { SplitName } from '../../../datasets/types.ts';
import { parseExperiment, type Experiment } from '../../engine/experiment/experimentSchema.ts';
import { torchExportFiles } from '../../engine/export/torch/torchExport.ts';
import { BertTokenizer } from '../../engine/tokenizer/bertTokenizer.ts';
import { buildMultiTaskModel, variantExtensionFor } from '../../engine/model/modelFactory.ts';
import { runTaskOrder } from '../../engine/train/microBatchSchedule.ts';
import type { TaskSplits } from '../../engine/train/trainer.ts';
import { trainRowsFor } from '../../engine/train/trainSubset.ts';
import { dataSourceOf } from '../experimentDataSource.ts';
import { initNodeBackend } from '../nodeBackend.ts';
import { nodeInitialModel, nodeModelVocab } from '../nodeModel.ts';
import { shardSplitLoader } from '../shardSplitLoader.ts';

export interface ExportTorchOptions {
  config?: string;
  run?: string;
  out: string;
  vocab?: string;
  cache?: string;
}

/** The Python trainer shipped in every export (the repository's template, next to the engine code). Found from the
 * package root, so it is the same folder whether the CLI runs from the sources or from the dist-cli bundle. */
export const TORCH_TEMPLATE_DIR = join(packageRoot(), 'src/engine/export/torch/template');

/** The template's .py files by path relative to it (train.py, taskscope_torch/*.py); caches are left out. */
export async function readTorchTemplate(dir = TORCH_TEMPLATE_DIR): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  const walk = async (rel: string): Promise<void> => {
    for (const e of await readdir(join(dir, rel), { withFileTypes: true })) {
      const path = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory() && e.name !== '__pycache__') await walk(path);
      else if (e.isFile() && e.name.endsWith('.py')) files.set(path, await readFile(join(dir, path), 'utf8'));
    }
  };
  await walk('');
  return new Map([...files].sort(([a], [b]) => a.localeCompare(b)));
}

async function readJson(file: string, what: string): Promise<unknown> {
  const text = await readFile(file, 'utf8').catch((e: NodeJS.ErrnoException) => {
    throw new Error(`${what}: ${file}: ${e.code === 'ENOENT' ? 'not found' : e.message}`);
  });
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new Error(`${what}: ${file}: not valid JSON (${(e as Error).message})`);
  }
}

/** The experiment of --config, or of a `taskscope train` run folder (its checkpoint/ or its saved train state). */
async function experimentOf(o: ExportTorchOptions): Promise<Experiment> {
  if ((o.config === undefined) === (o.run === undefined)) throw new Error('export-torch: give exactly one of --config <exp.json> and --run <dir>');
  if (o.config) return parseExperiment(await readJson(resolve(o.config), '--config'), resolve(o.config));
  const run = resolve(o.run!);
  const fromCheckpoint = join(run, 'checkpoint', 'experiment.json');
  if (
    await stat(fromCheckpoint).then(
      () => true,
      () => false,
    )
  )
    return parseExperiment(await readJson(fromCheckpoint, '--run'), fromCheckpoint);
  const state = join(run, 'state', 'state.json');
  const meta = (await readJson(state, '--run').catch(() => {
    throw new Error(`--run: ${run} has neither checkpoint/experiment.json nor state/state.json: not a taskscope train run folder`);
  })) as { meta?: { experiment?: unknown }; experiment?: unknown };
  const exp = meta.meta?.experiment ?? meta.experiment;
  if (!exp) throw new Error(`--run: ${state} holds no experiment`);
  return parseExperiment(exp, state);
}

/** Writes `files` (paths with folders) under `dir`; refuses a non-empty folder so nothing is overwritten. */
async function writeExport(dir: string, files: ReadonlyMap<string, string | Uint8Array>): Promise<void> {
  const existing = await readdir(dir).catch(() => [] as string[]);
  if (existing.length > 0) throw new Error(`--out: ${dir} is not empty; export into a new folder`);
  for (const [name, content] of files) {
    if (name.split('/').some((p) => p === '..' || p === '')) throw new Error(`export-torch: refusing to write ${name}`);
    await mkdir(dirname(join(dir, name)), { recursive: true });
    await writeFile(join(dir, name), content);
  }
}

/** `taskscope export-torch`: the experiment as a folder that PyTorch (torchrun) trains. */
export async function runExportTorchCli(o: ExportTorchOptions, note: (line: string) => void = (l) => process.stderr.write(`${l}\n`)): Promise<string> {
  const exp = await experimentOf(o);
  const out = resolve(o.out);
  await initNodeBackend('cpu');
  const vocabDir = o.vocab && basename(o.vocab) === 'vocab.txt' ? dirname(o.vocab) : o.vocab;
  const vocab = await nodeModelVocab(exp, vocabDir);
  const tokenizer = BertTokenizer.fromVocabText(vocab.vocabText, { doLowerCase: vocab.doLowerCase });
  const source = await dataSourceOf(exp, 'export-torch');
  const load = shardSplitLoader(source, tokenizer, o.cache ? resolve(o.cache) : join(dirname(out), '.shards'));
  const data: Record<string, TaskSplits> = {};
  for (const entry of runTaskOrder(exp)) {
    const def = getTask(entry.name);
    const full = await load(def.name, 'train', exp.maxLength);
    if (!full) throw new Error(`${source.describe()} has no training split for ${def.name}`);
    const devName = def.splits.find((s) => s.labelled && s.name.startsWith('dev'))?.name as SplitName | undefined;
    const dev = devName ? ((await load(def.name, devName, exp.maxLength)) ?? undefined) : undefined;
    data[def.name] = { train: trainRowsFor(full, entry, exp.seed), dev };
    note(`${def.name}: ${data[def.name].train.rows} training rows, ${dev ? `${dev.rows} dev rows` : 'no dev split'}`);
  }
  const initial = await nodeInitialModel(exp, vocabDir);
  const model = buildMultiTaskModel(exp, initial.encoder, { extension: variantExtensionFor(exp, initial.encoder) });
  try {
    const files = await torchExportFiles({
      experiment: exp,
      model,
      data,
      vocabText: initial.vocabText,
      doLowerCase: initial.doLowerCase,
      template: await readTorchTemplate(),
    });
    await writeExport(out, files);
    const spec = JSON.parse(files.get('export.json') as string) as { totalSteps: number };
    note(
      `wrote ${out}: ${files.size} files, ${spec.totalSteps} steps; run it with: cd ${out} && python3 train.py --out run  (or torchrun --nproc_per_node N train.py --out run)`,
    );
  } finally {
    model.dispose();
  }
  return out;
}

export function registerExportTorchCommand(program: Command): void {
  program
    .command('export-torch')
    .description('write an experiment as a PyTorch folder (train.py + data + starting weights) that torchrun trains on one machine or a cluster')
    .option('--config <exp.json>', 'the experiment to export')
    .option('--run <dir>', 'export the experiment of a `taskscope train` run folder instead')
    .requiredOption('--out <folder>', 'the export folder (must be new or empty)')
    .option('--vocab <dir|vocab.txt>', 'vocabulary for a random bert-base-uncased model')
    .option('--cache <dir>', 'tokenized shard cache (default <out>/../.shards)')
    .action(async (o: ExportTorchOptions) => {
      await runExportTorchCli(o);
    });
}
