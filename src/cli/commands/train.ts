import type { Command } from 'commander';
import { MultiBar, Presets } from 'cli-progress';
import { appendFile, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { writeFolder } from '../../engine/platform/node/nodeSource.ts';
import { parseExperiment, type Experiment } from '../../engine/experiment/experimentSchema.ts';
import { BertTokenizer } from '../../engine/tokenizer/bertTokenizer.ts';
import { describeParameterCounts, experimentParameterCounts } from '../../engine/model/experimentParameterCounts.ts';
import { exportCheckpointFiles } from '../../engine/train/exportCheckpoint.ts';
import { FolderTrainStateStore } from '../../engine/train/folderTrainStateStore.ts';
import { buildMultiTaskModel, variantExtensionFor } from '../../engine/model/modelFactory.ts';
import type { TrainerEvent } from '../../engine/train/trainEvents.ts';
import { runTaskOrder, Trainer } from '../../engine/train/trainer.ts';
import { assembleRunData } from '../../engine/train/runData.ts';
import { initNodeBackend, NODE_BACKENDS } from '../nodeBackend.ts';
import { dataSourceOf } from '../experimentDataSource.ts';
import { nodeInitialModel, nodeModelVocab } from '../nodeModel.ts';
import { shardSplitLoader } from '../shardSplitLoader.ts';

export interface TrainCliOptions {
  config: string;
  out?: string;
  backend?: string;
  vocab?: string;
  cache?: string;
  fresh?: boolean;
  progress?: boolean;
}

async function readExperiment(path: string): Promise<Experiment> {
  const file = resolve(path);
  const text = await readFile(file, 'utf8').catch((e: NodeJS.ErrnoException) => {
    throw new Error(`--config: ${file}: ${e.code === 'ENOENT' ? 'not found' : e.message}`);
  });
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new Error(`--config: ${file}: not valid JSON (${(e as Error).message})`);
  }
  return parseExperiment(raw, file);
}

const exists = (p: string) => stat(p).then(() => true, () => false);

/** `--vocab` takes the folder of a vocab.txt (as `pipeline`) or the vocab.txt itself. */
const vocabDirOf = (v: string | undefined) => (v && basename(v) === 'vocab.txt' ? dirname(v) : v);

function fmt(x: number, digits = 4): string {
  return Number.isFinite(x) ? x.toFixed(digits) : String(x);
}

/**
 * `taskscope train`: one experiment, headless. Writes into --out: `log.jsonl` (one line per step and per
 * evaluation), `state/` (the resumable train state; running the command again continues from it),
 * `checkpoint/` (HF folder + heads.json + experiment.json) and `metrics.json` (final dev metrics).
 */
export async function runTrainCli(o: TrainCliOptions, note: (line: string) => void = (l) => process.stderr.write(`${l}\n`)): Promise<number> {
  const exp = await readExperiment(o.config);
  const backendName = o.backend ?? (exp.backend === 'cpu' || exp.backend === 'wasm' ? exp.backend : 'wasm');
  if (!(NODE_BACKENDS as readonly string[]).includes(backendName)) {
    throw new Error(`--backend must be one of ${NODE_BACKENDS.join(', ')}, got "${backendName}"`);
  }
  const backend = await initNodeBackend(backendName);
  const out = resolve(o.out ?? join('runs', exp.name.replace(/[^\w.-]+/g, '_')));
  await mkdir(out, { recursive: true });
  const logFile = join(out, 'log.jsonl');
  const store = new FolderTrainStateStore(join(out, 'state'));
  const resuming = !o.fresh && (await exists(join(out, 'state', 'state.json')));
  if (!resuming) await writeFile(logFile, '');
  const log = (obj: unknown) => appendFile(logFile, `${JSON.stringify(obj)}\n`);
  const started = Date.now();

  // Data: every task's train and dev split, tokenized into a shard cache shared by runs.
  const vocabDir = vocabDirOf(o.vocab);
  const vocab = await nodeModelVocab(exp, vocabDir);
  const tokenizer = BertTokenizer.fromVocabText(vocab.vocabText, { doLowerCase: vocab.doLowerCase });
  const source = await dataSourceOf(exp, 'train');
  const load = shardSplitLoader(source, tokenizer, o.cache ? resolve(o.cache) : join(dirname(out), '.shards'));
  const data = await assembleRunData(exp, load, {
    label: `train (${source.describe()})`,
    tasks: runTaskOrder(exp),
    onTask: (t) => note(`${t.task}: ${t.trainRows} training rows${t.fullTrainRows !== t.trainRows ? ` (of ${t.fullTrainRows})` : ''}, ${t.devRows !== undefined ? `${t.devRows} dev rows` : 'no dev split'}`),
  });

  const initial = await nodeInitialModel(exp, vocabDir);
  const model = buildMultiTaskModel(exp, initial.encoder, { extension: variantExtensionFor(exp, initial.encoder) });
  const c = model.encoder.config;
  note(`model: L=${c.numHiddenLayers} H=${c.hiddenSize} A=${c.numAttentionHeads} I=${c.intermediateSize} vocab ${c.vocabSize}${exp.variant.kind !== 'mtdnn' ? ` + ${exp.variant.kind}` : ''}; backend ${backend}; seed ${exp.seed}`);
  const parameters = experimentParameterCounts(exp, c);
  note(describeParameterCounts(parameters));

  const bars = o.progress === false ? null : new MultiBar({ format: ' {bar} {value}/{total} steps | epoch {epoch} | loss {loss} | lr {lr} | {eps} ex/s | {tps} tok/s | ETA {eta_formatted}', hideCursor: true, noTTYOutput: false, etaBuffer: 50 }, Presets.shades_classic);
  const say = (line: string) => (bars ? bars.log(`${line}\n`) : note(line));
  let trainer!: Trainer;
  const pending: Promise<void>[] = [];
  const onEvent = (e: TrainerEvent) => {
    if (e.type === 'step') {
      pending.push(log({ ...e, wallSeconds: (Date.now() - started) / 1000 }));
      bar?.update(e.step, { epoch: e.epoch, loss: fmt(e.loss), lr: e.lr.toExponential(2), eps: e.examplesPerSec.toFixed(1), tps: e.tokensPerSec.toFixed(0) });
    } else if (e.type === 'eval') {
      pending.push(log({ type: 'eval', ...e.result, wallSeconds: (Date.now() - started) / 1000 }));
      const pct = (m: Partial<Record<string, number>>) => Object.entries(m).map(([k, v]) => `${k} ${(100 * v!).toFixed(2)}`).join(' ');
      const scores = e.result.tasks.map((t) => `${t.task} ${pct(t.metrics)}${t.decision
        ? ` (threshold ${t.decision.threshold.toFixed(3)} chosen on ${t.decision.holdoutRows} held-out training rows, F1 there ${(100 * t.decision.holdoutF1).toFixed(2)}; argmax: ${pct(t.decision.argmaxMetrics ?? {})})`
        : ''}`).join('; ');
      say(`step ${e.result.step} (epoch ${e.result.epoch}) dev: ${scores}; GLUE ${(100 * e.result.glueScore).toFixed(2)}`);
    } else if (e.type === 'status') {
      pending.push(log({ ...e, wallSeconds: (Date.now() - started) / 1000 }));
    } else if (e.type === 'checkpoint') {
      pending.push(log(e));
    }
  };
  // eslint-disable-next-line prefer-const -- onEvent, declared above, may run while the constructor is still going
  trainer = new Trainer({ experiment: exp, model, data, store, onEvent });
  if (resuming) {
    await trainer.restoreFromStore();
    note(`resuming ${store.describe()} at step ${trainer.step} of ${trainer.totalSteps}`);
  }
  for (const [task, rows] of Object.entries(trainer.thresholdHoldoutRows)) {
    if (rows > 0) note(`${task}: ${rows} of those training rows held out to choose the F1 decision threshold (thresholdHoldout)`);
  }
  note(`training: ${trainer.totalSteps} steps (${trainer.epochLength} batches per epoch, ${exp.epochs} epochs, batch ${exp.batchSize}, grad-acc ${exp.gradAccumulation}) into ${out}`);
  const bar = bars?.create(trainer.totalSteps, trainer.step, { epoch: trainer.currentEpoch, loss: '-', lr: '-', eps: '-', tps: '-' }) ?? null;
  const onSigint = () => {
    say('interrupted: stopping after this step and saving the train state (run the command again to continue)');
    trainer.stop();
  };
  process.once('SIGINT', onSigint);
  let result;
  try {
    result = await trainer.run();
  } finally {
    process.removeListener('SIGINT', onSigint);
    bars?.stop();
    await Promise.all(pending);
  }
  const wallSeconds = (Date.now() - started) / 1000;
  const summary = {
    status: result.status,
    message: result.message,
    step: result.step,
    totalSteps: trainer.totalSteps,
    backend,
    seed: exp.seed,
    wallSeconds,
    evaluation: result.lastEvaluation,
    parameters,
  };
  if (result.status === 'failed') {
    await writeFile(join(out, 'metrics.json'), `${JSON.stringify(summary, null, 2)}\n`);
    note(`taskscope: ${result.message}`);
    trainer.dispose();
    model.dispose();
    return 1;
  }
  if (result.status === 'done') {
    const files = await exportCheckpointFiles(model, { experiment: exp, vocabText: initial.vocabText, doLowerCase: initial.doLowerCase, metrics: summary });
    await writeFolder(join(out, 'checkpoint'), files);
  }
  await writeFile(join(out, 'metrics.json'), `${JSON.stringify(summary, null, 2)}\n`);
  const glue = result.lastEvaluation ? ` dev GLUE score ${(100 * result.lastEvaluation.glueScore).toFixed(2)};` : '';
  note(`${result.status} at step ${result.step} in ${wallSeconds.toFixed(1)} s;${glue} wrote ${out}`);
  trainer.dispose();
  model.dispose();
  return 0;
}

export function registerTrainCommand(program: Command) {
  program.command('train')
    .description('train one experiment (MT-DNN / SIWLM multi-task) headless; run again with the same --out to resume')
    .requiredOption('--config <exp.json>', 'experiment config (the same JSON the app and the worker take)')
    .option('--out <dir>', 'run folder (default runs/<experiment name>)')
    .option('--backend <name>', `${NODE_BACKENDS.join(' | ')} (default: the config's backend when it is one of these, else wasm)`)
    .option('--vocab <dir|vocab.txt>', 'vocabulary for a random bert-base-uncased model (e.g. ../shared/assets/models/bert-tiny-uncased)')
    .option('--cache <dir>', 'tokenized shard cache (default <out>/../.shards)')
    .option('--fresh', 'start over even when --out holds a train state')
    .option('--no-progress', 'no progress bar (log lines only)')
    .action(async (o: TrainCliOptions) => {
      const code = await runTrainCli(o);
      if (code !== 0) process.exitCode = code;
    });
}
