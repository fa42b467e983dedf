import type { Command } from 'commander';
import { SingleBar, Presets } from 'cli-progress';
import { formatEta } from '../../engine/runtime/formatDuration.ts';
import { appendFile, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseBertConfig } from '../../engine/checkpoint/bertConfig.ts';
import { loadBertCheckpoint } from '../../engine/checkpoint/hfFolder.ts';
import { dirSource } from '../../engine/platform/node/nodeSource.ts';
import { parseDoLowerCase } from '../../engine/checkpoint/tokenizerConfig.ts';
import type { BertConfig } from '../../engine/checkpoint/types.ts';
import { tsvSourceFromPath } from '../../engine/platform/node/nodeFiles.ts';
import { BertEncoder } from '../../engine/model/bertEncoder.ts';
import { MaskedLmHead } from '../../engine/model/heads/maskedLmHead.ts';
import { pretrainCorpus } from '../../engine/pretrain/heldOutEvaluation.ts';
import { maskingVocab } from '../../engine/pretrain/masking.ts';
import { OPTIMIZER_FILE, STATE_FILE, parsePretrainState, pretrainCheckpointFiles } from '../../engine/pretrain/pretrainCheckpoint.ts';
import { MlmPretrainer, type MlmEvalResult } from '../../engine/pretrain/pretrainMlm.ts';
import { BertTokenizer } from '../../engine/tokenizer/bertTokenizer.ts';
import { initNodeBackend } from '../nodeBackend.ts';
import { withRunFolderLock } from '../runFolderLock.ts';
import { intOption, numberOption } from '../optionValues.ts';

interface PretrainCliOptions {
  glue: string;
  vocab?: string;
  init?: string;
  out: string;
  resume?: boolean;
  backend: string;
  layers: string;
  hidden: string;
  heads: string;
  intermediate: string;
  maxPositions: string;
  maxLen: string;
  batchSize: string;
  steps: string;
  lr: string;
  warmup: string;
  weightDecay: string;
  clip: string;
  seed: string;
  heldOut: string;
  saveEvery: string;
  evalEvery: string;
  maxMinutes?: string;
  stopAt?: string;
}

/** BertEncoder.random(config, seed) seeds its tensors seed, seed+1, …; the head's seed stays clear of them. */
const HEAD_SEED_OFFSET = 1_000_003;

/** Options that fix the data stream and the model; a resumed run takes them from the checkpoint. */
const RUN_KEYS = ['maxLen', 'batchSize', 'lr', 'warmup', 'weightDecay', 'clip', 'seed', 'heldOut'] as const;

/** Writes every file under a temporary name first, then renames: a crash leaves whole files (the step check catches a mix). */
async function writeCheckpoint(dir: string, files: ReadonlyMap<string, Uint8Array>): Promise<void> {
  await mkdir(dir, { recursive: true });
  const order = [...files.keys()].sort((a, b) => Number(a === STATE_FILE) - Number(b === STATE_FILE)); // state last
  for (const name of order) await writeFile(join(dir, `.${name}.partial`), files.get(name)!);
  for (const name of order) await rename(join(dir, `.${name}.partial`), join(dir, name));
}

async function readVocabDir(dir: string): Promise<{ vocabText: string; doLowerCase: boolean }> {
  const vocabText = await readFile(join(dir, 'vocab.txt'), 'utf8').catch(() => {
    throw new Error(`--vocab: ${resolve(dir, 'vocab.txt')} not found`);
  });
  const tc = existsSync(join(dir, 'tokenizer_config.json')) ? await readFile(join(dir, 'tokenizer_config.json'), 'utf8') : null;
  return { vocabText, doLowerCase: parseDoLowerCase(tc, resolve(dir)) };
}

export function registerPretrainCommand(program: Command) {
  program
    .command('pretrain')
    .description('masked-LM pretraining (BERT 80/10/10 masking, tied MLM head) on the text of the GLUE files')
    .requiredOption('--glue <dir>', "GLUE folder (or glue.zip); every split's text is used, labels are not")
    .option('--vocab <dir>', 'folder with vocab.txt (and tokenizer_config.json) for a model from scratch')
    .option('--init <dir>', 'continue pretraining an HF BERT folder (its cls.predictions.* head if present)')
    .requiredOption('--out <dir>', 'checkpoint folder (HF files + optimizer.safetensors + pretrain_state.json) and log.jsonl')
    .option('--resume', 'resume the run saved in --out')
    .option('--backend <name>', 'cpu | wasm', 'wasm')
    .option('--layers <N>', 'encoder layers', '4')
    .option('--hidden <N>', 'hidden size', '256')
    .option('--heads <N>', 'attention heads', '4')
    .option('--intermediate <N>', 'feed-forward size', '1024')
    .option('--max-positions <N>', 'max_position_embeddings of a new model', '512')
    .option('--max-len <N>', 'packed sequence length (tokens, specials included)', '128')
    .option('--batch-size <N>', 'sequences per step', '32')
    .option('--steps <N>', "optimiser steps (the schedule's total)", '1000')
    .option('--lr <x>', 'peak learning rate', '5e-4')
    .option('--warmup <f>', 'warmup fraction of --steps', '0.06')
    .option('--weight-decay <x>', 'AdamW decoupled decay (not on biases/LayerNorm)', '0.01')
    .option('--clip <x>', 'global gradient-norm clip (0 = off)', '1')
    .option('--seed <N>', 'seed of init, data order, masking and dropout', '1')
    .option('--held-out <N>', 'packed sequences kept out for held-out loss/accuracy', '256')
    .option('--save-every <N>', 'checkpoint every N steps', '100')
    .option('--eval-every <N>', 'held-out evaluation every N steps (0 = only at the start and the end)', '0')
    .option('--max-minutes <x>', 'stop (with a checkpoint) after this much wall time')
    .option(
      '--stop-at <step>',
      'stop (with a checkpoint) after this step; the schedule stays that of --steps, so --resume --steps <same> goes on as if never stopped',
    )
    .action(async (o: PretrainCliOptions, cmd: Command) => {
      const out = resolve(o.out);
      const note = (line: string) => process.stderr.write(`${line}\n`);
      // One writer: the lock is taken before a resumed run reads its checkpoint.
      await withRunFolderLock(out, 'taskscope pretrain', note, () => pretrainInFolder(o, cmd, out, note));
    });
}

/** The pretraining run in `out`, which the caller holds locked. */
async function pretrainInFolder(o: PretrainCliOptions, cmd: Command, out: string, note: (line: string) => void): Promise<void> {
  const logFile = join(out, 'log.jsonl');
  const log = (obj: Record<string, unknown>) => appendFile(logFile, `${JSON.stringify({ time: new Date().toISOString(), ...obj })}\n`);
  const backend = await initNodeBackend(o.backend);

  // A resumed run takes the options that fix its data stream from the checkpoint.
  if (o.resume) {
    if (!existsSync(join(out, STATE_FILE))) throw new Error(`--resume: ${join(out, STATE_FILE)} not found`);
    const stateInfo = (JSON.parse(await readFile(join(out, STATE_FILE), 'utf8')).info ?? {}) as Record<string, unknown>;
    const saved = (stateInfo.options ?? {}) as Record<string, string>;
    for (const k of RUN_KEYS) {
      if (saved[k] === undefined) continue;
      if (cmd.getOptionValueSource(k) === 'cli' && String(o[k]) !== saved[k]) {
        throw new Error(`--resume: the run in ${out} used --${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} ${saved[k]}, not ${o[k]}`);
      }
      (o as unknown as Record<string, string>)[k] = saved[k];
    }
  }
  const maxLen = intOption('max-len', o.maxLen, 8);
  const batchSize = intOption('batch-size', o.batchSize);
  const steps = intOption('steps', o.steps);
  const seed = intOption('seed', o.seed, 0);
  const heldOut = intOption('held-out', o.heldOut, 1);
  const saveEvery = intOption('save-every', o.saveEvery);
  const evalEvery = intOption('eval-every', o.evalEvery, 0);
  const maxMs = o.maxMinutes === undefined ? Infinity : numberOption('max-minutes', o.maxMinutes) * 60_000;
  const stopAt = o.stopAt === undefined ? steps : intOption('stop-at', o.stopAt);
  if (stopAt > steps) throw new Error(`--stop-at ${stopAt} is beyond --steps ${steps}`);

  // Model: resumed, continued from --init, or new from --vocab.
  let config: BertConfig;
  let vocabText: string;
  let doLowerCase: boolean;
  let encoder: BertEncoder;
  let head: MaskedLmHead;
  let resumeFrom: Parameters<MlmPretrainer['setState']>[0] | null = null;
  const from = o.resume ? out : o.init;
  if (from) {
    const ckpt = await loadBertCheckpoint(dirSource(from));
    ({ config, vocabText, doLowerCase } = ckpt);
    encoder = BertEncoder.fromCheckpoint(ckpt);
    const hasHead = [...(ckpt.extraTensors?.keys() ?? [])].some((n) => n.startsWith('cls.predictions.'));
    if (o.resume && !hasHead) throw new Error(`--resume: ${from}/model.safetensors has no cls.predictions.* tensors`);
    head = new MaskedLmHead(config, encoder.params.wordEmbeddings, hasHead ? ckpt.extraTensors! : { seed: seed + HEAD_SEED_OFFSET });
    if (o.resume) {
      resumeFrom = parsePretrainState(
        await readFile(join(out, STATE_FILE), 'utf8'),
        new Uint8Array(await readFile(join(out, OPTIMIZER_FILE))),
        ckpt.safetensorsMetadata?.taskscope_step,
        out,
      );
    }
  } else {
    if (!o.vocab) throw new Error('give --vocab <dir> for a new model (or --init <dir> / --resume)');
    ({ vocabText, doLowerCase } = await readVocabDir(o.vocab));
    const tok = BertTokenizer.fromVocabText(vocabText, { doLowerCase, source: join(o.vocab, 'vocab.txt') });
    config = parseBertConfig(
      JSON.stringify({
        architectures: ['BertForMaskedLM'],
        model_type: 'bert',
        vocab_size: tok.vocabSize,
        hidden_size: intOption('hidden', o.hidden),
        num_hidden_layers: intOption('layers', o.layers),
        num_attention_heads: intOption('heads', o.heads),
        intermediate_size: intOption('intermediate', o.intermediate),
        max_position_embeddings: intOption('max-positions', o.maxPositions),
        type_vocab_size: 2,
        hidden_act: 'gelu',
        hidden_dropout_prob: 0.1,
        attention_probs_dropout_prob: 0.1,
        initializer_range: 0.02,
        layer_norm_eps: 1e-12,
        pad_token_id: tok.padId,
      }),
      '--layers/--hidden/--heads/--intermediate',
    );
    encoder = BertEncoder.random(config, seed);
    head = new MaskedLmHead(config, encoder.params.wordEmbeddings, { seed: seed + HEAD_SEED_OFFSET });
  }
  if (maxLen > config.maxPositionEmbeddings) throw new Error(`--max-len ${maxLen} exceeds max_position_embeddings ${config.maxPositionEmbeddings}`);
  const tokenizer = BertTokenizer.fromVocabText(vocabText, { doLowerCase });
  if (tokenizer.vocabSize !== config.vocabSize)
    throw new Error(`vocab.txt has ${tokenizer.vocabSize} tokens but config.json has vocab_size ${config.vocabSize}`);

  const t0 = performance.now();
  const corpus = await pretrainCorpus(await tsvSourceFromPath(o.glue), tokenizer, { seed, maxLen, heldOut });
  const corpusInfo = {
    texts: corpus.texts,
    tokens: corpus.tokens,
    train: corpus.train.length,
    heldOut: corpus.heldOut.length,
    perSplit: corpus.perSplit,
    malformedRows: corpus.issues.length,
  };
  note(
    `corpus: ${corpus.texts} distinct texts, ${corpus.tokens} tokens → ${corpus.train.length} training + ${corpus.heldOut.length} held-out sequences of ≤ ${maxLen} tokens (${((performance.now() - t0) / 1000).toFixed(1)} s)`,
  );
  const vocab = maskingVocab(tokenizer.vocab.tokens, tokenizer);
  const trainer = new MlmPretrainer(encoder, head, corpus.train, vocab, tokenizer.padId, {
    steps,
    batchSize,
    seed,
    lr: numberOption('lr', o.lr),
    warmup: numberOption('warmup', o.warmup),
    weightDecay: numberOption('weight-decay', o.weightDecay),
    maxGradNorm: numberOption('clip', o.clip),
  });
  if (resumeFrom) trainer.setState(resumeFrom);
  if (stopAt <= trainer.step) throw new Error(`--stop-at ${stopAt}: the run in ${out} is already at step ${trainer.step}`);
  const runOptions = Object.fromEntries(RUN_KEYS.map((k) => [k, String(o[k])]));
  const info = { options: { ...runOptions, steps: String(steps) }, corpus: corpusInfo, backend, glue: resolve(o.glue) };
  await mkdir(out, { recursive: true });
  await log({ type: 'start', resumedAt: resumeFrom?.step ?? null, config: config.raw, ...info });
  const save = async () => {
    const files = pretrainCheckpointFiles({ config, vocabText, doLowerCase, encoder, head, state: await trainer.getState(), info });
    await writeCheckpoint(out, files);
  };
  const evaluate = async (): Promise<MlmEvalResult> => {
    const r = await trainer.evaluate(corpus.heldOut);
    await log({ type: 'eval', step: trainer.step, heldOutLoss: r.loss, heldOutAccuracy: r.accuracy, predicted: r.predicted });
    return r;
  };
  const first = await evaluate();
  note(
    `held-out at step ${trainer.step}: MLM loss ${first.loss.toFixed(4)}, accuracy ${(100 * first.accuracy).toFixed(2)} % (${first.predicted} masked tokens)`,
  );

  const tty = process.stderr.isTTY;
  const bar = new SingleBar(
    { format: 'pretrain |{bar}| {value}/{total} loss {loss} acc {acc} lr {lr} {tps} tok/s | ETA {eta}', stream: process.stderr },
    Presets.shades_classic,
  );
  const firstStep = trainer.step;
  if (tty) bar.start(steps, trainer.step, { loss: '-', acc: '-', lr: '-', tps: '-', eta: formatEta(null) });
  const started = performance.now();
  const recent: number[] = [];
  let stoppedEarly = false;
  try {
    while (trainer.step < stopAt) {
      const ev = await trainer.trainStep();
      await log({ type: 'step', ...ev });
      recent.push(ev.loss);
      if (recent.length > 50) recent.shift();
      const payload = {
        loss: ev.loss.toFixed(3),
        acc: ev.accuracy.toFixed(3),
        lr: ev.lr.toExponential(2),
        tps: Math.round(ev.tokensPerSec),
        eta: formatEta(ev.etaSeconds, ev.step > firstStep),
      };
      if (tty) bar.update(ev.step, payload);
      else if (ev.step % 10 === 0)
        note(
          `step ${ev.step}/${steps} loss ${payload.loss} (mean of last ${recent.length}: ${(recent.reduce((a, b) => a + b, 0) / recent.length).toFixed(3)}) acc ${payload.acc} lr ${payload.lr} ${payload.tps} tok/s ETA ${payload.eta}`,
        );
      if (ev.step % saveEvery === 0) await save();
      if (evalEvery > 0 && ev.step % evalEvery === 0 && ev.step < stopAt) {
        const r = await evaluate();
        note(`held-out at step ${ev.step}: MLM loss ${r.loss.toFixed(4)}, accuracy ${(100 * r.accuracy).toFixed(2)} %`);
      }
      if (performance.now() - started > maxMs) {
        stoppedEarly = true;
        break;
      }
    }
  } finally {
    if (tty) bar.stop();
  }
  if (trainer.step < steps) stoppedEarly = true;
  await save();
  const r = await evaluate();
  const wall = (performance.now() - started) / 1000;
  await log({
    type: 'end',
    step: trainer.step,
    wallSeconds: wall,
    stoppedEarly,
    trainLossLast50: recent.reduce((a, b) => a + b, 0) / recent.length,
    heldOutLoss: r.loss,
    heldOutAccuracy: r.accuracy,
  });
  note(
    `${stoppedEarly ? `stopped after step ${trainer.step} of ${steps} (${trainer.step === stopAt ? '--stop-at' : 'the time limit'}; --resume goes on)` : `done: ${trainer.step} steps`} in ${wall.toFixed(0)} s; train MLM loss (mean of last ${recent.length} steps) ${(recent.reduce((a, b) => a + b, 0) / recent.length).toFixed(4)}`,
  );
  process.stdout.write(
    `held-out MLM loss ${r.loss.toFixed(4)}, accuracy ${(100 * r.accuracy).toFixed(2)} % on ${r.predicted} masked tokens of ${corpus.heldOut.length} sequences; checkpoint in ${out}\n`,
  );
  trainer.dispose();
  head.dispose();
  encoder.dispose();
}
