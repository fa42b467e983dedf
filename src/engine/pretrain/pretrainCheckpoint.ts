import * as v from 'valibot';
import { saveBertCheckpoint } from '../checkpoint/hfFolder.ts';
import { parseSafetensors, serializeSafetensors } from '../checkpoint/safetensors.ts';
import type { BertConfig } from '../checkpoint/types.ts';
import type { BertEncoder } from '../model/bertEncoder.ts';
import type { MaskedLmHead } from '../model/heads/maskedLmHead.ts';
import type { PretrainState } from './pretrainMlm.ts';

/**
 * A pretraining checkpoint is an HF `BertForPreTraining`-style folder (minus NSP: `bert.*` + `cls.predictions.*`,
 * loadable by transformers' BertForMaskedLM and by Taskscope as a starting encoder) plus two resume files:
 * `optimizer.safetensors` (the optimiser's slots) and `pretrain_state.json` (step, seed, RNG words, per-parameter
 * step counts, run options). Both weight files carry the step in their metadata so a half-written folder is
 * detected on resume.
 */

export const STATE_FILE = 'pretrain_state.json';
export const OPTIMIZER_FILE = 'optimizer.safetensors';
export const WEIGHTS_FILE = 'model.safetensors';

export interface PretrainCheckpointInput {
  config: BertConfig;
  vocabText: string;
  doLowerCase: boolean;
  encoder: BertEncoder;
  head: MaskedLmHead;
  state: PretrainState;
  /** Run options and corpus facts, written into pretrain_state.json for the record. */
  info?: Record<string, unknown>;
}

/** The files of a checkpoint (names → bytes); `writeFolder` (Node) or IndexedDB stores them. */
export function pretrainCheckpointFiles(c: PretrainCheckpointInput): Map<string, Uint8Array<ArrayBuffer>> {
  const step = String(c.state.step);
  const files = saveBertCheckpoint(
    { config: c.config, vocabText: c.vocabText, doLowerCase: c.doLowerCase, tensors: c.encoder.toNamedTensors(), extraTensors: c.head.toNamedTensors() },
    { metadata: { taskscope_step: step } },
  );
  files.set(OPTIMIZER_FILE, serializeSafetensors(c.state.optimizer.slots, 'F32', { taskscope_step: step }));
  const { slots: _slots, ...optimizer } = c.state.optimizer;
  const json = { step: c.state.step, seed: c.state.seed, rng: c.state.rng, optimizer, ...(c.info ? { info: c.info } : {}) };
  files.set(STATE_FILE, new TextEncoder().encode(`${JSON.stringify(json, null, 2)}\n`));
  return files;
}

const StateJson = v.object({
  step: v.pipe(v.number(), v.integer(), v.minValue(0)),
  seed: v.pipe(v.number(), v.integer()),
  rng: v.tuple([v.number(), v.number(), v.number(), v.number()]),
  optimizer: v.object({
    kind: v.picklist(['adamax', 'adam', 'adamw', 'bertadam', 'radam']),
    step: v.pipe(v.number(), v.integer(), v.minValue(0)),
    paramSteps: v.record(v.string(), v.number()),
  }),
});

/**
 * Reads the resume files. `weightsStep` is the `taskscope_step` of model.safetensors' metadata; a mismatch
 * means the folder was written only partly (the run stopped mid-save).
 */
export function parsePretrainState(stateText: string, optimizerBytes: Uint8Array, weightsStep: string | undefined, origin: string): PretrainState {
  let raw: unknown;
  try {
    raw = JSON.parse(stateText);
  } catch (e) {
    throw new Error(`${origin}/${STATE_FILE}: not valid JSON (${(e as Error).message})`);
  }
  const r = v.safeParse(StateJson, raw);
  if (!r.success) {
    throw new Error(`${origin}/${STATE_FILE}: ${r.issues.map((i) => `${i.path?.map((p) => String(p.key)).join('.') ?? ''}: ${i.message}`).join('; ')}`);
  }
  const s = r.output;
  const opt = parseSafetensors(optimizerBytes, `${origin}/${OPTIMIZER_FILE}`);
  const optStep = opt.metadata?.taskscope_step;
  if (optStep !== String(s.step) || weightsStep !== String(s.step)) {
    throw new Error(
      `${origin}: the checkpoint files disagree on the step (${STATE_FILE} ${s.step}, ${OPTIMIZER_FILE} ${optStep ?? 'none'}, ${WEIGHTS_FILE} ${weightsStep ?? 'none'}); it was written only partly`,
    );
  }
  return { step: s.step, seed: s.seed, rng: s.rng, optimizer: { ...s.optimizer, slots: opt.tensors } };
}
