import type { Command } from 'commander';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { getTask } from '../../../datasets/glueTasks.ts';
import { dataSourceOf, syntheticRunData } from '../experimentDataSource.ts';
import { isSyntheticTaskName } from '../../engine/synthetic/taskNames.ts';
import { parseExperiment, type Experiment, type ExperimentInput } from '../../engine/experiment/experimentSchema.ts';
import type { BertEncoder } from '../../engine/model/bertEncoder.ts';
import { parseSelectionConfig, type SelectionConfig } from '../../engine/selection/selectionConfig.ts';
import { runSelection } from '../../engine/selection/runSelection.ts';
import { SELECTION_METHODS, type SelectionResult } from '../../engine/selection/selectionResult.ts';
import type { SelectionEnv } from '../../engine/selection/trainRunner.ts';
import { BertTokenizer } from '../../engine/tokenizer/bertTokenizer.ts';
import { buildEncoder } from '../../engine/model/modelFactory.ts';
import { assembleRunData } from '../../engine/train/runData.ts';
import type { TaskSplits } from '../../engine/train/trainer.ts';
import { initNodeBackend } from '../nodeBackend.ts';
import { finiteOption, intOption } from '../optionValues.ts';
import { nodeInitialModel, nodeModelVocab } from '../nodeModel.ts';
import { shardSplitLoader } from '../shardSplitLoader.ts';

export interface SelectCliOptions {
  method: string;
  target: string;
  config: string;
  out?: string;
  backend: string;
  vocab?: string;
  cache?: string;
  num?: string;
  threshold?: string;
  clean?: boolean;
  loss?: string;
  tdSeed?: string;
  tdPerTask?: string;
  seed?: string;
  maxTrials?: string;
  maxMeasureRows?: string;
  importance?: string;
  trial?: string;
  /** commander's `--no-train` sets this to false. */
  train?: boolean;
}

type Note = (line: string) => void;

async function readJson(path: string, flag: string): Promise<unknown> {
  const full = resolve(path);
  const text = await readFile(full, 'utf8').catch((e: NodeJS.ErrnoException) => {
    throw new Error(`${flag}: ${full}: ${e.code === 'ENOENT' ? 'not found' : e.message}`);
  });
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new Error(`${flag}: ${full}: not valid JSON (${(e as Error).message})`);
  }
}

function intFlag(name: string, text: string | undefined, min: number): number | undefined {
  return text === undefined ? undefined : intOption(name, text, min);
}

function numFlag(name: string, text: string | undefined): number | undefined {
  return text === undefined ? undefined : finiteOption(name, text);
}

/** Task matrices from `--importance`: `{task: [[…]]}`, or a gradts result whose reasons carry them. */
function importanceFrom(raw: unknown, flag: string): Record<string, number[][]> {
  const r = raw as { reasons?: { importance?: { matrices?: unknown } }; matrices?: unknown };
  const m = r?.reasons?.importance?.matrices ?? r?.matrices ?? raw;
  if (!m || typeof m !== 'object' || Array.isArray(m)) throw new Error(`${flag}: expected {"<task>": [[…], …]} or a gradts selection result`);
  return m as Record<string, number[][]>;
}

/** The experiment file's `selection` section, overridden by the flags. */
export async function selectionSettings(o: SelectCliOptions, fromFile: unknown, origin: string): Promise<SelectionConfig> {
  if (!(SELECTION_METHODS as readonly string[]).includes(o.method))
    throw new Error(`--method must be one of ${SELECTION_METHODS.join(', ')}, got "${o.method}"`);
  const target = isSyntheticTaskName(o.target) ? o.target : getTask(o.target).name;
  const flags: Record<string, unknown> = {
    method: o.method,
    target,
    num: intFlag('num', o.num, 0),
    threshold: numFlag('threshold', o.threshold),
    clean: o.clean || undefined,
    lossKind: o.loss,
    tdSeed: intFlag('td-seed', o.tdSeed, 0),
    tdPerTask: intFlag('td-per-task', o.tdPerTask, 1),
    seed: intFlag('seed', o.seed, 0),
    maxTrials: intFlag('max-trials', o.maxTrials, 1),
    maxMeasureRows: intFlag('max-measure-rows', o.maxMeasureRows, 1),
    train: o.train === false ? false : undefined,
  };
  if (o.loss !== undefined && o.loss !== 'bce' && o.loss !== 'ce') throw new Error(`--loss must be bce or ce, got "${o.loss}"`);
  if (o.trial) {
    const t = (await readJson(o.trial, '--trial')) as Partial<SelectionResult>;
    if (t.method !== 'gradts-trial' || !Array.isArray(t.chosen)) throw new Error(`--trial: ${resolve(o.trial)} is not a gradts-trial selection result`);
    if (t.target !== target) throw new Error(`--trial: ${resolve(o.trial)} selected for ${t.target}, not ${target}`);
    flags.trialSelection = t.chosen;
    const prov = (t.reasons as { importance?: { matrices?: unknown } } | undefined)?.importance?.matrices;
    if (prov && !o.importance) flags.importance = prov;
  }
  if (o.importance) flags.importance = importanceFrom(await readJson(o.importance, '--importance'), '--importance');
  const merged = { ...((fromFile ?? {}) as object), ...Object.fromEntries(Object.entries(flags).filter(([, v]) => v !== undefined)) };
  return parseSelectionConfig(merged, `${origin}: selection`);
}

/** Loads every task's training split (trainFraction / maxTrainRows applied) and first labelled dev split, and the initial model. */
export async function nodeSelectionEnv(exp: Experiment, opts: { vocab?: string; cache: string; note: Note }): Promise<SelectionEnv> {
  const vocab = await nodeModelVocab(exp, opts.vocab);
  const tokenizer = BertTokenizer.fromVocabText(vocab.vocabText, { doLowerCase: vocab.doLowerCase });
  const synthetic = exp.data.kind === 'synthetic' ? syntheticRunData(exp) : null;
  let data: Record<string, TaskSplits>;
  if (synthetic) {
    data = synthetic.data;
    for (const [name, d] of Object.entries(data)) opts.note(`  ${name}: ${d.train.rows} generated training rows, ${d.dev?.rows ?? 0} dev rows`);
  } else {
    const loadSplit = shardSplitLoader(await dataSourceOf(exp, 'select'), tokenizer, opts.cache);
    // The same rows `taskscope train` uses.
    data = await assembleRunData(exp, loadSplit, {
      label: 'select',
      onTask: (t) => opts.note(`  ${t.task}: ${t.trainRows} training rows${t.devSplit ? `, ${t.devRows} ${t.devSplit} rows` : ', no dev split'}`),
    });
  }
  let makeEncoder: (e: Experiment) => BertEncoder;
  if (exp.model.kind === 'random') {
    // Random weights come from each stage's seed, so all runs of one stage start from the same encoder.
    makeEncoder = (e) => buildEncoder(e, { vocabSize: tokenizer.vocabSize });
  } else {
    const init = await nodeInitialModel(exp, opts.vocab);
    const checkpoint = { config: init.encoder.config, tensors: new Map(init.encoder.toNamedTensors().map((t) => [t.name, t])) };
    init.encoder.dispose();
    makeEncoder = (e) => buildEncoder(e, { checkpoint });
  }
  return { data, makeEncoder, specs: synthetic?.specs };
}

async function writeAtomic(path: string, text: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(`${path}.partial`, text);
  await rename(`${path}.partial`, path);
}

/** `taskscope select`: one auxiliary-task selection; the result JSON goes to --out (or stdout). */
export async function runSelectCli(o: SelectCliOptions, note: Note = (l) => process.stderr.write(`${l}\n`)): Promise<SelectionResult> {
  const configPath = resolve(o.config);
  const raw = (await readJson(configPath, '--config')) as Record<string, unknown>;
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new Error(`--config: ${configPath}: expected an experiment object`);
  const { selection: fromFile, ...baseRaw } = raw;
  const base = parseExperiment(baseRaw, configPath);
  const selection = await selectionSettings(o, fromFile, configPath);
  const backend = await initNodeBackend(o.backend);
  note(
    `select ${selection.method} for ${selection.target} on ${backend}: candidates ${base.tasks
      .map((t) => t.name)
      .filter((n) => n !== selection.target)
      .join(', ')}`,
  );
  const cache = o.cache ? resolve(o.cache) : join(dirname(configPath), '.taskscope-cache');
  const env = await nodeSelectionEnv(base, { vocab: o.vocab, cache, note });
  env.onTrainerEvent = (run, e) => {
    if (e.type === 'eval') {
      const t = e.result.tasks.map((x) => `${x.task} ${(100 * x.score).toFixed(2)}`).join(', ');
      note(`  ${run} epoch ${e.result.epoch} step ${e.result.step}: dev ${t}`);
    }
  };
  const result = await runSelection({ base: baseRaw as ExperimentInput, selection, env, onProgress: note });
  const text = `${JSON.stringify(result, null, 2)}\n`;
  if (o.out) {
    await writeAtomic(resolve(o.out), text);
    note(`chose ${result.chosen.join(', ') || 'nothing'} in ${result.wallSeconds.toFixed(1)} s; wrote ${resolve(o.out)}`);
  } else {
    process.stdout.write(text);
  }
  return result;
}

export function registerSelectCommand(program: Command): void {
  program
    .command('select')
    .description('auxiliary-task selection (GradTS-trial, GradTS-fg, FastMTL, random) for a target task; writes what was chosen and why as JSON')
    .requiredOption('--method <method>', SELECTION_METHODS.join(' | '))
    .requiredOption('--target <task>', "the target (primary) task; the config's other tasks are the candidates")
    .requiredOption('--config <exp.json>', 'experiment (model, data, tasks) with an optional "selection" section: settings and per-stage overrides')
    .option('--out <result.json>', 'where the selection result goes (default: stdout)')
    .option('--backend <name>', 'wasm | cpu', 'wasm')
    .option('--vocab <dir>', 'vocab.txt folder for a random (from-scratch) bert-base-uncased model')
    .option('--cache <dir>', 'token-shard cache (default .taskscope-cache beside the config)')
    .option('--num <N>', 'FastMTL/random: auxiliary examples in total (default 1000)')
    .option('--threshold <θ>', 'GradTS-fg: keep auxiliary examples with instance τ ≥ θ (default 0.62)')
    .option('--clean', 'GradTS-trial: compare best with best; FastMTL CE: score with softmax')
    .option('--loss <bce|ce>', 'FastMTL discriminator loss (default bce)')
    .option('--td-seed <N>', 'FastMTL TD sample and TD-MTDNN seed (default 205)')
    .option('--td-per-task <N>', 'FastMTL TD training rows per task (default 500)')
    .option('--seed <N>', "random baseline: the draw's seed (default 0)")
    .option('--max-trials <N>', 'GradTS-trial: at most N trials')
    .option('--max-measure-rows <N>', 'GradTS: measure head matrices on the first N training rows per task')
    .option('--importance <file.json>', 'GradTS: task-level head matrices ({task: [[…]]} or an earlier gradts result) instead of computing them')
    .option('--trial <result.json>', 'GradTS-fg: the auxiliary set of an earlier gradts-trial result (skips the trials)')
    .option('--no-train', 'stop after the selection (FastMTL/random/GradTS-fg)')
    .action(async (o: SelectCliOptions) => {
      await runSelectCli(o);
    });
}
