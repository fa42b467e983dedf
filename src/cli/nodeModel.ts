import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { loadBertCheckpoint } from '../engine/checkpoint/hfFolder.ts';
import type { ModelSource } from '../engine/checkpoint/modelSource.ts';
import { parseDoLowerCase } from '../engine/checkpoint/tokenizerConfig.ts';
import { urlSource } from '../engine/checkpoint/urlSource.ts';
import type { Experiment } from '../engine/experiment/experimentSchema.ts';
import { buildEncoder } from '../engine/model/modelFactory.ts';
import { dirSource } from '../engine/platform/node/nodeSource.ts';
import { syntheticVocabText } from '../engine/synthetic/syntheticTasks.ts';
import { BertTokenizer } from '../engine/tokenizer/bertTokenizer.ts';
import type { InitialModel } from '../engine/train/pipeline.ts';

/** The CLI's starting models: an experiment's checkpoint (folder, URL, Hub) or random weights over a vocabulary. */

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
  // train, select and pipeline all come here: name the option, not the command.
  if (!vocabDir)
    throw new Error(
      'a random model with the bert-base-uncased vocabulary needs --vocab <folder with vocab.txt> (e.g. --vocab ../shared/assets/models/bert-tiny-uncased)',
    );
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
