import * as Comlink from 'comlink';
import * as tf from '@tensorflow/tfjs';
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import { BertEncoder } from '../src/engine/model/bertEncoder.ts';
import { encodeTexts, type EncodedRow, type TextPair } from '../src/engine/model/encodeTexts.ts';
import { BertTokenizer } from '../src/engine/tokenizer/bertTokenizer.ts';
import { loadBertCheckpoint } from '../src/engine/checkpoint/hfFolder.ts';
import { filesSource, urlSource } from '../src/engine/checkpoint/modelSource.ts';
import type { BertCheckpoint } from '../src/engine/checkpoint/types.ts';
import {
  backendReport,
  deviceLossReason,
  fallBackAfterDeviceLoss,
  memoryReport,
  setupBrowserBackend,
  type BackendName,
  type BackendReport,
  type MemoryReport,
} from './browserBackend.ts';

/**
 * The model worker: owns the backend, the checkpoint and the encoder, and answers the UI with plain
 * arrays only (no tensors ever cross to the UI thread).
 */

/**
 * `paths` are the files' `webkitRelativePath`s from a folder pick: structured cloning into the worker
 * keeps a File's name but drops its relative path, which tells `config.json` from `sub/config.json`.
 */
export type ModelFrom = { kind: 'url'; base: string } | { kind: 'files'; files: File[]; paths?: string[] };

function sourceOf(from: ModelFrom) {
  if (from.kind === 'url') return urlSource(from.base);
  if (from.paths && from.paths.length !== from.files.length) {
    throw new Error(`loadModel: ${from.files.length} files but ${from.paths.length} paths`);
  }
  return filesSource(new Map(from.files.map((f, i) => [from.paths?.[i] || f.name, f] as const)));
}

export interface ModelSummary {
  origin: string;
  numLayers: number;
  numHeads: number;
  hiddenSize: number;
  vocabSize: number;
  maxPositionEmbeddings: number;
  doLowerCase: boolean;
  backend: BackendReport;
}

interface Loaded {
  ckpt: BertCheckpoint;
  model: BertEncoder;
  tokenizer: BertTokenizer;
}

export const SUPERSEDED = 'loadModel: superseded by a later loadModel call';

let backendReady: Promise<BackendReport> | undefined;
let loadGeneration = 0;
let loaded: Loaded | undefined;

function ensureBackend(order?: BackendName[]): Promise<BackendReport> {
  backendReady ??= setupBrowserBackend(order);
  return backendReady;
}

function summary(l: Loaded): ModelSummary {
  const c = l.ckpt.config;
  return {
    origin: l.ckpt.origin,
    numLayers: c.numHiddenLayers,
    numHeads: c.numAttentionHeads,
    hiddenSize: c.hiddenSize,
    vocabSize: c.vocabSize,
    maxPositionEmbeddings: c.maxPositionEmbeddings,
    doLowerCase: l.ckpt.doLowerCase,
    backend: backendReport(),
  };
}

/** Weights on a lost GPU device are gone: switch backend and rebuild the encoder from the checkpoint. */
async function recoverFromDeviceLoss(reason: string): Promise<void> {
  await fallBackAfterDeviceLoss(reason);
  backendReady = Promise.resolve(backendReport());
  if (loaded) {
    try {
      loaded.model.dispose();
    } catch {
      // Its variables lived on the lost device; nothing left to free.
    }
    loaded = { ...loaded, model: BertEncoder.fromCheckpoint(loaded.ckpt) };
  }
}

const api = {
  /** Initialise the backend (webgpu → wasm → cpu by default); later calls return the first result. */
  async init(order?: BackendName[]): Promise<BackendReport> {
    return ensureBackend(order);
  },

  /** `onProgress` (a `Comlink.proxy`) receives the weight file's download progress in bytes. */
  async loadModel(from: ModelFrom, onProgress?: (loaded: number, total: number | undefined) => void): Promise<ModelSummary> {
    const generation = ++loadGeneration;
    await ensureBackend();
    const ckpt = await loadBertCheckpoint(sourceOf(from), onProgress ? { onProgress } : {});
    // Downloads can finish out of order; only the latest request may become the loaded model.
    if (generation !== loadGeneration) throw new Error(SUPERSEDED);
    const tokenizer = BertTokenizer.fromVocabText(ckpt.vocabText, { doLowerCase: ckpt.doLowerCase, source: `${ckpt.origin}/vocab.txt` });
    const model = BertEncoder.fromCheckpoint(ckpt);
    loaded?.model.dispose();
    loaded = { ckpt, model, tokenizer };
    return summary(loaded);
  },

  async encode(pairs: TextPair[], opts: { maxLength: number; attentions?: boolean }): Promise<EncodedRow[]> {
    if (!loaded) throw new Error('encode: no model loaded (call loadModel first)');
    const pending = deviceLossReason();
    if (pending) await recoverFromDeviceLoss(pending);
    const run = () => encodeTexts(loaded!.model, loaded!.tokenizer, pairs, opts);
    try {
      return await run();
    } catch (e) {
      // A lost device can surface as a failed read before the `lost` promise settles; wait briefly for it.
      const reason = deviceLossReason() ?? (await lossAfter(250));
      if (!reason) throw e;
      await recoverFromDeviceLoss(reason);
      return run();
    }
  },

  backendInfo(): BackendReport {
    return backendReport();
  },

  memory(): MemoryReport {
    return memoryReport();
  },

  /** Test hook: destroys the webgpu device as a driver reset would, to exercise the fallback path. */
  async loseDeviceForTest(): Promise<boolean> {
    if (tf.getBackend() !== 'webgpu') return false;
    const device = (tf.backend() as WebGPUBackend).device;
    device.destroy();
    await device.lost;
    return true;
  },
};

function lossAfter(ms: number): Promise<string | undefined> {
  return new Promise((resolve) => setTimeout(() => resolve(deviceLossReason()), ms));
}

export type ModelWorkerApi = typeof api;

Comlink.expose(api);
