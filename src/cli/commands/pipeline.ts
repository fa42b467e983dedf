import type { Command } from 'commander';
import { readFile, rm } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { dataSourceOf } from '../experimentDataSource.ts';
import { BertTokenizer } from '../../engine/tokenizer/bertTokenizer.ts';
import { nodeInitialModel, nodeModelVocab } from '../nodeModel.ts';
import { nodeRunStorage } from '../nodeRunStorage.ts';
import { shardSplitLoader } from '../shardSplitLoader.ts';
import { MTDNN_STAGES, SUBMISSION_ZIP, runPipeline, type PipelineEnv, type PipelineEvent, type StageId } from '../../engine/train/pipeline.ts';
import { parsePipelineConfig } from '../../engine/train/pipelineConfig.ts';
import { FolderTrainStateStore } from '../../engine/platform/node/folderTrainStateStore.ts';
import { initNodeBackend } from '../nodeBackend.ts';
import { withRunFolderLock } from '../runFolderLock.ts';

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
  // One writer: the lock is taken before the pipeline reads what earlier runs left in the folder.
  const r = await withRunFolderLock(out, 'taskscope pipeline', note, () => runPipeline(cfg, env, { from, until }));
  note(`done: ran ${r.ran.join(', ') || 'nothing'}${r.skipped.length ? `; already complete: ${r.skipped.join(', ')}` : ''}`);
  if (cfg.submit.enabled && (until === undefined || until === 'submit')) note(`submission: ${join(out, SUBMISSION_ZIP)}`);
}

export function registerPipelineCommand(program: Command): void {
  program
    .command('pipeline')
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
