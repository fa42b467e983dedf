import type { Command } from 'commander';
import { createHash } from 'node:crypto';
import { readdir, readFile, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { writeFolder } from '../../engine/platform/node/nodeSource.ts';
import { parseExperiment, type Experiment } from '../../engine/experiment/experimentSchema.ts';
import { BertTokenizer } from '../../engine/tokenizer/bertTokenizer.ts';
import { describeParameterCounts, experimentParameterCounts } from '../../engine/model/experimentParameterCounts.ts';
import { exportCheckpointFiles } from '../../engine/train/exportCheckpoint.ts';
import { atomicWriteFile, isTempName } from '../../engine/platform/node/nodeAtomicWrite.ts';
import { withRunFolderLock } from '../runFolderLock.ts';
import { FolderTrainStateStore } from '../../engine/platform/node/folderTrainStateStore.ts';
import type { MultiTaskModel } from '../../engine/model/multiTaskModel.ts';
import { readVariables, type TrainStateMeta, type TrainStateStore } from '../../engine/train/trainState.ts';
import { buildMultiTaskModel, variantExtensionFor } from '../../engine/model/modelFactory.ts';
import type { TrainerEvent } from '../../engine/train/trainEvents.ts';
import { runTaskOrder } from '../../engine/train/microBatchSchedule.ts';
import { resumeDifferences } from '../../engine/train/resumeDifferences.ts';
import { Trainer, type TaskSplits } from '../../engine/train/trainer.ts';
import { assembleRunData } from '../../engine/train/runData.ts';
import { initNodeBackend, NODE_BACKENDS } from '../nodeBackend.ts';
import { dataSourceOf, syntheticRunData, type SyntheticRunData } from '../experimentDataSource.ts';
import { trainProgress } from '../trainProgress.ts';
import { nodeInitialModel } from '../nodeModel.ts';
import { shardSplitLoader } from '../shardSplitLoader.ts';
import { RunLog } from '../runLog.ts';

export interface TrainCliOptions {
  config: string;
  out?: string;
  backend?: string;
  vocab?: string;
  cache?: string;
  fresh?: boolean;
  /** When --out holds a run that this config may not continue (finished, or another experiment): use `<out>-N`. */
  forceNew?: boolean;
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

const exists = (p: string) =>
  stat(p).then(
    () => true,
    () => false,
  );

/**
 * SHA-256 over the loaded encoder's parameters (name, shape, float32 bytes), for a model read from a folder,
 * URL or the Hub; undefined for a random one, which the experiment's `model` entry and seed define.
 */
export async function initialModelChecksum(exp: Experiment, model: MultiTaskModel): Promise<string | undefined> {
  if (exp.model.kind === 'random') return undefined;
  const h = createHash('sha256');
  for (const t of await readVariables(model.encoder.namedVariables())) {
    h.update(`${t.name}[${t.shape.join(',')}]\n`);
    h.update(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  }
  return h.digest('hex');
}

interface SavedRun {
  meta: TrainStateMeta | null;
  /** metrics.json with status "done": the run is finished and is never written again. */
  finished: { step: number; totalSteps: number; glueScore: number | null } | null;
}

async function savedRun(out: string, store: FolderTrainStateStore): Promise<SavedRun> {
  let meta: TrainStateMeta | null = null;
  const stored = await store.load();
  if (stored) {
    try {
      meta = JSON.parse(stored.json) as TrainStateMeta;
    } catch (e) {
      throw new Error(`${store.describe()}: train state JSON is not valid (${(e as Error).message})`);
    }
  }
  const text = await readFile(join(out, 'metrics.json'), 'utf8').catch(() => null);
  let finished: SavedRun['finished'] = null;
  if (text !== null) {
    try {
      const m = JSON.parse(text) as { status?: string; step?: number; totalSteps?: number; evaluation?: { glueScore?: number } | null };
      if (m.status === 'done') finished = { step: m.step ?? NaN, totalSteps: m.totalSteps ?? NaN, glueScore: m.evaluation?.glueScore ?? null };
    } catch {
      // a metrics.json cut by a kill (older versions wrote it in place): the run is not known to be finished
    }
  }
  return { meta, finished };
}

/** `<out>-2`, `<out>-3`, … : the first that does not exist. */
async function freshFolderBeside(out: string): Promise<string> {
  for (let i = 2; ; i++) if (!(await exists(`${out}-${i}`))) return `${out}-${i}`;
}

/** Temporary files a killed writer of an older version (or of this one) left in the run folder. */
async function removeStaleTemps(out: string): Promise<string[]> {
  const removed: string[] = [];
  for (const dir of ['', 'checkpoint']) {
    for (const n of (await readdir(join(out, dir)).catch(() => [] as string[])).filter(isTempName)) {
      await rm(join(out, dir, n), { force: true });
      removed.push(dir ? `${dir}/${n}` : n);
    }
  }
  return removed;
}

/** `--vocab` takes the folder of a vocab.txt (as `pipeline`) or the vocab.txt itself. */
const vocabDirOf = (v: string | undefined) => (v && basename(v) === 'vocab.txt' ? dirname(v) : v);

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
  if (o.fresh && o.forceNew) throw new Error('give either --fresh (start over in --out) or --force-new (start in a new folder beside it), not both');
  const backend = await initNodeBackend(backendName);
  let out = resolve(o.out ?? join('runs', exp.name.replace(/[^\w.-]+/g, '_')));
  const vocabDir = vocabDirOf(o.vocab);

  // The initial weights first: a run may only be continued from the same ones (compared by checksum).
  const initial = await nodeInitialModel(exp, vocabDir);
  // Generated (synthetic) tasks bring their own head specs; GLUE tasks take theirs from the task registry.
  const synthetic = exp.data.kind === 'synthetic' ? syntheticRunData(exp) : null;
  const model = buildMultiTaskModel(exp, initial.encoder, { specs: synthetic?.specs, extension: variantExtensionFor(exp, initial.encoder) });
  try {
    const checksum = await initialModelChecksum(exp, model);
    for (;;) {
      const outcome = await trainInFolder(out, exp, model, checksum, initial, synthetic, backend, o, note);
      if (typeof outcome === 'number') return outcome;
      out = outcome.moveTo;
    }
  } finally {
    model.dispose();
  }
}

/** Trains in `out` under its lock; `{ moveTo }` when --force-new must go elsewhere. */
async function trainInFolder(
  out: string,
  exp: Experiment,
  model: MultiTaskModel,
  initialModelChecksum: string | undefined,
  initial: { vocabText: string; doLowerCase: boolean },
  synthetic: SyntheticRunData | null,
  backend: string,
  o: TrainCliOptions,
  note: (line: string) => void,
): Promise<number | { moveTo: string }> {
  return withRunFolderLock(out, 'taskscope train', note, async () => {
    const removed = await removeStaleTemps(out);
    if (removed.length)
      note(`${out}: removed ${removed.length} temporary file${removed.length === 1 ? '' : 's'} of an interrupted write (${removed.join(', ')})`);
    const store = new FolderTrainStateStore(join(out, 'state'));
    const saved = await savedRun(out, store);
    const differ = saved.meta ? resumeDifferences(saved.meta, { experiment: exp, initialModelChecksum }) : [];
    const why = saved.finished ? 'a finished run' : saved.meta && differ.length ? `the state of a different experiment at step ${saved.meta.step}` : null;
    if (why && o.forceNew) {
      const moveTo = await freshFolderBeside(out);
      note(`--force-new: ${out} holds ${why}; it is left as it is and a fresh run starts in ${moveTo}`);
      return { moveTo };
    }
    if (saved.finished) {
      if (differ.length) {
        throw new Error(
          `${out} holds a finished run of a different experiment (fields differ: ${differ.join(', ')}); it is left as it is: give another --out, or --force-new to start a fresh run in a new folder beside it`,
        );
      }
      if (o.fresh)
        throw new Error(
          `${out} holds a finished run; --fresh would erase it: give another --out, or --force-new to start a fresh run in a new folder beside it`,
        );
      const glue = saved.finished.glueScore === null ? '' : `; dev GLUE score ${(100 * saved.finished.glueScore).toFixed(2)}`;
      note(
        `already finished: ${out} (step ${saved.finished.step} of ${saved.finished.totalSteps}${glue}; results in ${join(out, 'metrics.json')}); nothing was written`,
      );
      return 0;
    }
    if (saved.meta && differ.length && !o.fresh) {
      throw new Error(
        `${store.describe()}: saved by a different experiment at step ${saved.meta.step} (fields differ: ${differ.join(', ')}); a resumed run must keep them: give another --out, --fresh to start over in it, or --force-new to start in a new folder beside it`,
      );
    }
    if (o.fresh) await rm(store.dir, { recursive: true, force: true });
    const resuming = !o.fresh && saved.meta !== null;
    return await trainLocked(out, exp, model, initialModelChecksum, initial, synthetic, backend, store, resuming, o, note);
  });
}

async function trainLocked(
  out: string,
  exp: Experiment,
  model: MultiTaskModel,
  initialModelChecksum: string | undefined,
  initial: { vocabText: string; doLowerCase: boolean },
  synthetic: SyntheticRunData | null,
  backend: string,
  folderStore: FolderTrainStateStore,
  resuming: boolean,
  o: TrainCliOptions,
  note: (line: string) => void,
): Promise<number> {
  const logFile = join(out, 'log.jsonl');
  if (!resuming) await atomicWriteFile(logFile, '');
  const runLog = new RunLog(logFile);
  const log = (obj: unknown) => runLog.append(obj);
  // Every log line of the steps a checkpoint covers is on disk before the checkpoint is.
  const store: TrainStateStore = {
    describe: () => folderStore.describe(),
    load: () => folderStore.load(),
    save: async (state, step) => {
      await runLog.flush();
      await folderStore.save(state, step);
    },
  };
  const started = Date.now();

  // Data: every task's train and dev split, tokenized into a shard cache shared by runs.
  // The initial model's own vocabulary, read once with its weights.
  const tokenizer = BertTokenizer.fromVocabText(initial.vocabText, { doLowerCase: initial.doLowerCase });
  let data: Record<string, TaskSplits>;
  if (synthetic) {
    data = synthetic.data;
    for (const [task, d] of Object.entries(data)) note(`${task}: ${d.train.rows} generated training rows, ${d.dev?.rows ?? 0} dev rows`);
  } else {
    const source = await dataSourceOf(exp, 'train');
    const load = shardSplitLoader(source, tokenizer, o.cache ? resolve(o.cache) : join(dirname(out), '.shards'));
    data = await assembleRunData(exp, load, {
      label: `train (${source.describe()})`,
      tasks: runTaskOrder(exp),
      onTask: (t) =>
        note(
          `${t.task}: ${t.trainRows} training rows${t.fullTrainRows !== t.trainRows ? ` (of ${t.fullTrainRows})` : ''}, ${t.devRows !== undefined ? `${t.devRows} dev rows` : 'no dev split'}`,
        ),
    });
  }

  const c = model.encoder.config;
  note(
    `model: L=${c.numHiddenLayers} H=${c.hiddenSize} A=${c.numAttentionHeads} I=${c.intermediateSize} vocab ${c.vocabSize}${exp.variant.kind !== 'mtdnn' ? ` + ${exp.variant.kind}` : ''}; backend ${backend}; seed ${exp.seed}`,
  );
  const parameters = experimentParameterCounts(exp, c, synthetic?.specs);
  note(describeParameterCounts(parameters));

  // A bar on a terminal, periodic plain lines in a log file or CI (see trainProgress.ts).
  const progress = o.progress === false ? null : trainProgress({ stream: process.stderr });
  const say = (line: string) => (progress ? progress.log(line) : note(line));
  let trainer!: Trainer;
  const onEvent = (e: TrainerEvent) => {
    if (e.type === 'step') {
      log({ ...e, wallSeconds: (Date.now() - started) / 1000 });
      progress?.step(e);
    } else if (e.type === 'eval') {
      log({ type: 'eval', ...e.result, wallSeconds: (Date.now() - started) / 1000 });
      const pct = (m: Partial<Record<string, number>>) =>
        Object.entries(m)
          .map(([k, v]) => `${k} ${(100 * v!).toFixed(2)}`)
          .join(' ');
      const scores = e.result.tasks
        .map(
          (t) =>
            `${t.task} ${pct(t.metrics)}${
              t.decision
                ? ` (threshold ${t.decision.threshold.toFixed(3)} chosen on ${t.decision.holdoutRows} held-out training rows, F1 there ${(100 * t.decision.holdoutF1).toFixed(2)}; argmax: ${pct(t.decision.argmaxMetrics ?? {})})`
                : ''
            }`,
        )
        .join('; ');
      say(`step ${e.result.step} (epoch ${e.result.epoch}) dev: ${scores}; GLUE ${(100 * e.result.glueScore).toFixed(2)}`);
    } else if (e.type === 'status') {
      log({ ...e, wallSeconds: (Date.now() - started) / 1000 });
    } else if (e.type === 'checkpoint') {
      log(e);
    }
  };
  // eslint-disable-next-line prefer-const -- onEvent, declared above, may run while the constructor is still going
  trainer = new Trainer({ experiment: exp, model, data, store, onEvent, initialModelChecksum });
  if (resuming) {
    await trainer.restoreFromStore();
    const dropped = await RunLog.cutAfter(logFile, trainer.step);
    note(
      `resuming ${store.describe()} at step ${trainer.step} of ${trainer.totalSteps}${dropped ? ` (${dropped} log line${dropped === 1 ? '' : 's'} after it dropped from ${logFile})` : ''}`,
    );
  }
  for (const [task, rows] of Object.entries(trainer.thresholdHoldoutRows)) {
    if (rows > 0) note(`${task}: ${rows} of those training rows held out to choose the F1 decision threshold (thresholdHoldout)`);
  }
  note(
    `training: ${trainer.totalSteps} steps (${trainer.epochLength} batches per epoch, ${exp.epochs} epochs, batch ${exp.batchSize}, grad-acc ${exp.gradAccumulation}) into ${out}`,
  );
  progress?.start(trainer.step, trainer.totalSteps, trainer.currentEpoch);
  const onSigint = () => {
    say('interrupted: stopping after this step and saving the train state (run the command again to continue)');
    trainer.stop();
  };
  process.once('SIGINT', onSigint);
  let result;
  try {
    result = await trainer.run();
  } catch (e) {
    trainer.dispose();
    throw e;
  } finally {
    process.removeListener('SIGINT', onSigint);
    progress?.stop();
    await runLog.flush().catch((e: Error) => note(`taskscope: ${e.message}`));
  }
  await runLog.flush();
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
  try {
    if (result.status === 'failed') {
      await atomicWriteFile(join(out, 'metrics.json'), `${JSON.stringify(summary, null, 2)}\n`);
      note(`taskscope: ${result.message}`);
      return 1;
    }
    // metrics.json with status "done" marks the run finished, so it is written last: a kill before it
    // leaves the final state, from which a rerun finishes the export with the same evaluation.
    if (result.status === 'done') {
      const files = await exportCheckpointFiles(model, { experiment: exp, vocabText: initial.vocabText, doLowerCase: initial.doLowerCase, metrics: summary });
      await writeFolder(join(out, 'checkpoint'), files);
    }
    await atomicWriteFile(join(out, 'metrics.json'), `${JSON.stringify(summary, null, 2)}\n`);
  } catch (e) {
    const kept =
      trainer.checkpointStep === null ? 'no train state was saved' : `the train state of step ${trainer.checkpointStep} in ${store.describe()} is kept`;
    throw new Error(`${(e as Error).message}; ${kept}: run the same command again to finish`, { cause: e });
  } finally {
    trainer.dispose();
  }
  const glue = result.lastEvaluation ? ` dev GLUE score ${(100 * result.lastEvaluation.glueScore).toFixed(2)};` : '';
  note(`${result.status} at step ${result.step} in ${wallSeconds.toFixed(1)} s;${glue} wrote ${out}`);
  return 0;
}

export function registerTrainCommand(program: Command) {
  program
    .command('train')
    .description('train one experiment (MT-DNN / SIWLM multi-task) headless; run again with the same --out to resume')
    .requiredOption('--config <exp.json>', 'experiment config (the same JSON the app and the worker take)')
    .option('--out <dir>', 'run folder (default runs/<experiment name>)')
    .option('--backend <name>', `${NODE_BACKENDS.join(' | ')} (default: the config's backend when it is one of these, else wasm)`)
    .option('--vocab <dir|vocab.txt>', 'vocabulary for a random bert-base-uncased model (e.g. ../shared/assets/models/bert-tiny-uncased)')
    .option('--cache <dir>', 'tokenized shard cache (default <out>/../.shards)')
    .option('--fresh', 'start over in --out even when it holds a train state (never a finished run)')
    .option('--force-new', "when --out holds a finished run or another experiment's state, leave it and start a fresh run in <out>-2 (-3, …)")
    .option('--no-progress', 'no progress bar (log lines only)')
    .action(async (o: TrainCliOptions) => {
      const code = await runTrainCli(o);
      if (code !== 0) process.exitCode = code;
    });
}
