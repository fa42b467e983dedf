import type { Command } from 'commander';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { getTask } from '../../../datasets/glueTasks.ts';
import type { SplitName, TaskName } from '../../../datasets/types.ts';
import { loadBertCheckpoint } from '../../engine/checkpoint/hfFolder.ts';
import type { ModelSource } from '../../engine/checkpoint/modelSource.ts';
import { dirSource } from '../../engine/platform/node/nodeSource.ts';
import { parseDoLowerCase } from '../../engine/checkpoint/tokenizerConfig.ts';
import { urlSource } from '../../engine/checkpoint/urlSource.ts';
import { buildShards, shardKeyFor } from '../../engine/data/buildShards.ts';
import { FolderShardStore } from '../../engine/data/nodeShardStore.ts';
import { ShardReader, type LoadedSplit } from '../../engine/data/shardReader.ts';
import type { DataSource } from '../../engine/data/types.ts';
import { dataSourceOf } from '../experimentDataSource.ts';
import type { Experiment } from '../../engine/experiment/experimentSchema.ts';
import { syntheticVocabText } from '../../engine/synthetic/syntheticTasks.ts';
import { BertTokenizer } from '../../engine/tokenizer/bertTokenizer.ts';
import { buildEncoder } from '../../engine/model/modelFactory.ts';
import { MTDNN_STAGES, SUBMISSION_ZIP, runPipeline, type InitialModel, type PipelineEnv, type PipelineEvent, type StageId } from '../../engine/train/pipeline.ts';
import { parsePipelineConfig } from '../../engine/train/pipelineConfig.ts';
import { checkRunPath, type RunStorage } from '../../engine/train/runStorage.ts';
import { FolderTrainStateStore } from '../../engine/train/folderTrainStateStore.ts';
import { initNodeBackend } from '../nodeBackend.ts';

/** A run folder on disk. Files are written under a temporary name and renamed, so none is ever half written. */
export function nodeRunStorage(dir: string): RunStorage {
  const root = resolve(dir);
  const full = (path: string) => join(root, ...checkRunPath(path).split('/'));
  return {
    describe: () => root,
    async read(path) {
      try {
        const buf = await readFile(full(path));
        return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
        throw e;
      }
    },
    async write(path, data) {
      const target = full(path);
      await mkdir(dirname(target), { recursive: true });
      await writeFile(`${target}.partial`, data);
      await rename(`${target}.partial`, target);
    },
    async exists(path) {
      try {
        return (await stat(full(path))).isFile();
      } catch {
        return false;
      }
    },
  };
}

async function readVocabFolder(dir: string): Promise<{ vocabText: string; doLowerCase: boolean }> {
  const vocabText = await readFile(join(dir, 'vocab.txt'), 'utf8').catch(() => {
    throw new Error(`--vocab: ${resolve(dir, 'vocab.txt')} not found`);
  });
  const tc = await readFile(join(dir, 'tokenizer_config.json'), 'utf8').catch(() => null);
  return { vocabText, doLowerCase: parseDoLowerCase(tc, resolve(dir)) };
}

/** Where the mtl experiment's checkpoint comes from (null for random weights). */
function modelSourceOf(exp: Experiment): ModelSource | null {
  const m = exp.model;
  switch (m.kind) {
    case 'random':
      return null;
    case 'dir':
      return dirSource(m.path);
    case 'url':
      return urlSource(m.url);
    case 'hub':
      return urlSource(`https://huggingface.co/${m.repo}/resolve/${m.revision}`);
    case 'run':
      throw new Error(`pipeline: mtl.model kind "run" is a browser run; give a checkpoint folder ({"kind": "dir", "path": …})`);
  }
}

/** The vocabulary every stage tokenizes with: the checkpoint's, or --vocab / the synthetic one for random weights. */
export async function nodeModelVocab(exp: Experiment, vocabDir?: string): Promise<{ vocabText: string; doLowerCase: boolean }> {
  const source = modelSourceOf(exp);
  if (source) {
    const tc = (await source.has('tokenizer_config.json')) ? await source.readText('tokenizer_config.json') : null;
    return { vocabText: await source.readText('vocab.txt'), doLowerCase: parseDoLowerCase(tc, source.describe()) };
  }
  if (exp.model.kind === 'random' && exp.model.vocab === 'synthetic') return { vocabText: syntheticVocabText(), doLowerCase: true };
  if (!vocabDir) throw new Error('pipeline: a random bert-base-uncased model needs --vocab <folder with vocab.txt>');
  return readVocabFolder(vocabDir);
}

/** The mtl experiment's starting model: a checkpoint (folder, URL, Hub), or random weights over the vocabulary. */
export async function nodeInitialModel(exp: Experiment, vocabDir?: string): Promise<InitialModel> {
  const source = modelSourceOf(exp);
  if (source) {
    const ckpt = await loadBertCheckpoint(source);
    return { encoder: buildEncoder(exp, { checkpoint: ckpt }), vocabText: ckpt.vocabText, doLowerCase: ckpt.doLowerCase };
  }
  const { vocabText, doLowerCase } = await nodeModelVocab(exp, vocabDir);
  const tokenizer = BertTokenizer.fromVocabText(vocabText, { doLowerCase });
  return { encoder: buildEncoder(exp, { vocabSize: tokenizer.vocabSize }), vocabText, doLowerCase };
}

/**
 * Splits from a GLUE source, tokenized into a shard cache (built once, verified on later runs) and kept in
 * memory for the rest of the run.
 */
export function shardSplitLoader(source: DataSource, tokenizer: BertTokenizer, cacheDir: string): PipelineEnv['loadSplit'] {
  const store = new FolderShardStore(cacheDir);
  const loaded = new Map<string, LoadedSplit | null>();
  return async (task: TaskName, split: SplitName, maxLength: number) => {
    const id = `${task}/${split}/${maxLength}`;
    if (loaded.has(id)) return loaded.get(id)!;
    const def = getTask(task);
    let out: LoadedSplit | null = null;
    if (await source.locate(def, split)) {
      await buildShards(source, def, split, tokenizer, { store, maxLength });
      const reader = await ShardReader.open(store, await shardKeyFor(def, split, tokenizer, maxLength), { source, tokenizer });
      out = await reader.loadAll();
    }
    loaded.set(id, out);
    return out;
  };
}

interface PipelineCliOptions {
  config: string;
  out: string;
  from?: string;
  until?: string;
  backend: string;
  vocab?: string;
  cache?: string;
}

const STAGE_IDS = MTDNN_STAGES.map((s) => s.id);

function stageOption(name: string, value: string | undefined): StageId | undefined {
  if (value === undefined) return undefined;
  if (!(STAGE_IDS as string[]).includes(value)) throw new Error(`--${name} must be one of ${STAGE_IDS.join(', ')}, got "${value}"`);
  return value as StageId;
}

/** `taskscope pipeline`: the whole MT-DNN recipe into `--out`; run it again to continue a stopped run. */
export async function runPipelineCli(o: PipelineCliOptions, note: (line: string) => void = (l) => process.stderr.write(`${l}\n`)): Promise<void> {
  const configPath = resolve(o.config);
  const text = await readFile(configPath, 'utf8').catch((e: NodeJS.ErrnoException) => {
    throw new Error(`--config: ${configPath}: ${e.code === 'ENOENT' ? 'not found' : e.message}`);
  });
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new Error(`--config: ${configPath}: not valid JSON (${(e as Error).message})`);
  }
  const cfg = parsePipelineConfig(raw, configPath);
  const from = stageOption('from', o.from);
  const until = stageOption('until', o.until);
  const backend = await initNodeBackend(o.backend);
  const out = resolve(o.out);
  const here = dirname(configPath);

  const vocab = await nodeModelVocab(cfg.mtl, o.vocab);
  const tokenizer = BertTokenizer.fromVocabText(vocab.vocabText, { doLowerCase: vocab.doLowerCase });
  const source = await dataSourceOf(cfg.mtl, 'pipeline');
  const started = Date.now();
  const onEvent = (e: PipelineEvent) => {
    if (e.type === 'stage') note(`[${((Date.now() - started) / 1000).toFixed(1)} s] stage ${e.stage}: ${e.status}`);
    else if (e.type === 'unit' && e.status !== 'start') note(`  ${e.key}: ${e.status}`);
    else if (e.type === 'train' && e.event.type === 'eval') {
      const scores = e.event.result.tasks.map((t) => `${t.task} ${(100 * t.score).toFixed(2)}`).join(', ');
      note(`  ${e.run} step ${e.event.result.step}: dev ${scores}`);
    }
  };
  const slotDir = (slot: string) => join(out, 'train-state', slot.replace(/[^\w.-]+/g, '_'));
  const env: PipelineEnv = {
    storage: nodeRunStorage(out),
    initialModel: (exp) => nodeInitialModel(exp, o.vocab),
    loadSplit: shardSplitLoader(source, tokenizer, o.cache ? resolve(o.cache) : join(out, 'data-cache')),
    readExternal: (path) => readFile(resolve(here, path), 'utf8'),
    openRun: (path) => nodeRunStorage(resolve(here, path)),
    trainStates: { open: (slot) => new FolderTrainStateStore(slotDir(slot)), remove: (slot) => rm(slotDir(slot), { recursive: true, force: true }) },
    onEvent,
  };
  note(`pipeline ${cfg.name}: ${cfg.finetune.tasks.length} fine-tuned task(s) on ${backend}, run folder ${out}`);
  const r = await runPipeline(cfg, env, { from, until });
  note(`done: ran ${r.ran.join(', ') || 'nothing'}${r.skipped.length ? `; already complete: ${r.skipped.join(', ')}` : ''}`);
  if (cfg.submit.enabled && (until === undefined || until === 'submit')) note(`submission: ${join(out, SUBMISSION_ZIP)}`);
}

export function registerPipelineCommand(program: Command): void {
  program.command('pipeline')
    .description('the MT-DNN pipeline: multi-task training → strip heads → fine-tune each task → evaluate → predict test → GLUE zip; re-run to continue')
    .requiredOption('--config <pipeline.json>', '{"mtl": <experiment>, "finetune": {"tasks": [...], ...overrides}, "submit": true}')
    .requiredOption('--out <dir>', 'run folder: checkpoints, metrics JSON, predictions JSONL, the submission zip, pipeline-state.json')
    .option('--from <stage>', `redo this stage and the later ones (${STAGE_IDS.join(', ')})`)
    .option('--until <stage>', 'stop after this stage')
    .option('--backend <name>', 'wasm | cpu', 'wasm')
    .option('--vocab <dir>', 'vocab.txt folder for a random (from-scratch) bert-base-uncased model')
    .option('--cache <dir>', 'token-shard cache (default <out>/data-cache)')
    .action(async (o: PipelineCliOptions) => {
      await runPipelineCli(o);
    });
}
