import { loadBertCheckpoint } from '../../src/engine/checkpoint/hfFolder.ts';
import { filesSource } from '../../src/engine/checkpoint/modelSource.ts';
import type { BertCheckpoint } from '../../src/engine/checkpoint/types.ts';
import type { Experiment } from '../../src/engine/experiment/experimentSchema.ts';
import { syntheticVocabText } from '../../src/engine/synthetic/syntheticTasks.ts';
import { BertTokenizer } from '../../src/engine/tokenizer/bertTokenizer.ts';
import { loadCachedCheckpoint } from './modelCache.ts';
import type { EncoderInit } from './selectionEnv.ts';
import { syntheticTokenizer } from './syntheticData.ts';
import type { ModelFrom, PreparedModel } from './types.ts';

export type Progress = (loaded: number, total: number | undefined) => void;

/** The last model folder loaded: a run started after `prepareModel` reuses it instead of loading it again. */
let prepared: { key: string; checkpoint: BertCheckpoint; info: PreparedModel } | null = null;

function modelKey(from: ModelFrom): string {
  if (from.kind === 'url') return `url:${from.base}`;
  if (from.kind === 'files') return `files:${(from.paths ?? from.files.map((f) => f.name)).join('|')}:${from.files.map((f) => f.size).join(',')}`;
  return 'random';
}

async function prepare(from: ModelFrom, onProgress?: Progress): Promise<{ checkpoint: BertCheckpoint; info: PreparedModel }> {
  const key = modelKey(from);
  if (prepared?.key === key) return prepared;
  let checkpoint: BertCheckpoint;
  let fromCache = false;
  if (from.kind === 'url') {
    ({ checkpoint, fromCache } = await loadCachedCheckpoint(from.base, onProgress));
  } else if (from.kind === 'files') {
    if (from.paths && from.paths.length !== from.files.length) throw new Error(`prepareModel: ${from.files.length} files but ${from.paths.length} paths`);
    checkpoint = await loadBertCheckpoint(
      filesSource(new Map(from.files.map((f, i) => [from.paths?.[i] || f.name, f] as const))),
      onProgress ? { onProgress } : {},
    );
  } else {
    throw new Error('prepareModel: a random model needs no preparation');
  }
  const tok = BertTokenizer.fromVocabText(checkpoint.vocabText, { doLowerCase: checkpoint.doLowerCase, source: `${checkpoint.origin}/vocab.txt` });
  const c = checkpoint.config;
  const info: PreparedModel = {
    origin: checkpoint.origin,
    layers: c.numHiddenLayers,
    heads: c.numAttentionHeads,
    hidden: c.hiddenSize,
    vocabSize: c.vocabSize,
    doLowerCase: checkpoint.doLowerCase,
    vocabText: checkpoint.vocabText,
    vocabHash: await tok.vocabHash(),
    fromCache,
  };
  prepared = { key, checkpoint, info };
  return prepared;
}

/** Loads (and caches) a model folder; the page needs its vocabulary to build token shards. */
export async function prepareModel(from: ModelFrom, onProgress?: Progress): Promise<PreparedModel> {
  if (from.kind === 'random') {
    const tok = syntheticTokenizer();
    return {
      origin: 'random (synthetic vocabulary)',
      layers: 0,
      heads: 0,
      hidden: 0,
      vocabSize: tok.vocabSize,
      doLowerCase: true,
      vocabText: syntheticVocabText(),
      vocabHash: await tok.vocabHash(),
      fromCache: false,
    };
  }
  return (await prepare(from, onProgress)).info;
}

/** The initial weights of a new run or selection: random ones of the experiment's shape (synthetic vocabulary only), or a loaded checkpoint. */
export async function encoderInit(exp: Experiment, from: ModelFrom): Promise<{ init: EncoderInit; vocabText: string; doLowerCase: boolean; origin: string }> {
  if (from.kind === 'random') {
    if (exp.model.kind !== 'random' || exp.model.vocab !== 'synthetic') {
      throw new Error('a random encoder is only available with the synthetic vocabulary here (model.vocab "synthetic"); load a model folder for GLUE');
    }
    return {
      init: { vocabSize: syntheticTokenizer().vocabSize },
      vocabText: syntheticVocabText(),
      doLowerCase: true,
      origin: `random ${exp.model.layers}×${exp.model.heads}, H=${exp.model.hidden}`,
    };
  }
  const p = await prepare(from);
  return { init: { checkpoint: p.checkpoint }, vocabText: p.checkpoint.vocabText, doLowerCase: p.checkpoint.doLowerCase, origin: p.info.origin };
}
