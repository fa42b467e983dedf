import * as tf from '@tensorflow/tfjs';
import * as Comlink from 'comlink';
import { setupBrowserBackend, backendReport, type BackendReport, type BackendRequest, type SetupOptions } from '../../workers/browserBackend.ts';
import type { ModelWorkerApi, ModelSummary } from '../../workers/model.worker.ts';
import { BertEncoder } from '../../src/engine/model/bertEncoder.ts';
import { encodeTexts, type EncodedRow, type TextPair } from '../../src/engine/model/encodeTexts.ts';
import { LinearLayer, type LinearSnapshot } from '../../src/engine/model/heads/linearLayer.ts';
import { BertTokenizer } from '../../src/engine/tokenizer/bertTokenizer.ts';
import type { Encoding } from '../../src/engine/tokenizer/types.ts';
import { loadBertCheckpoint } from '../../src/engine/checkpoint/hfFolder.ts';
import { urlSource } from '../../src/engine/checkpoint/modelSource.ts';
import type { BertCheckpoint } from '../../src/engine/checkpoint/types.ts';
import { computeImportanceFixture, type ImportanceFixture, type ImportanceFixtureResult } from '../helpers/fixtureCheck.ts';

/**
 * Test-only page: runs engine modules on the page's own thread (webgpu here) and hands plain arrays back to
 * the Node test process, which compares them with the float64 fixtures.
 */

interface Fixture {
  ckpt: BertCheckpoint;
  model: BertEncoder;
  tokenizer: BertTokenizer;
}

const fixtures = new Map<string, Promise<Fixture>>();

function mirrorUrl(name: string): string {
  return new URL(`/mirror/fixtures/${name}`, location.href).href;
}

function fixture(name: string): Promise<Fixture> {
  if (!fixtures.has(name)) {
    fixtures.set(
      name,
      (async () => {
        const ckpt = await loadBertCheckpoint(urlSource(mirrorUrl(name)));
        return {
          ckpt,
          model: BertEncoder.fromCheckpoint(ckpt),
          tokenizer: BertTokenizer.fromVocabText(ckpt.vocabText, { doLowerCase: ckpt.doLowerCase }),
        };
      })(),
    );
  }
  return fixtures.get(name)!;
}

export interface ForwardBatch {
  inputIds: number[][];
  tokenTypeIds: number[][];
  attentionMask: number[][];
}

export interface ForwardResult {
  backend: string;
  hiddenStates: number[][][][]; // [L+1][B][T][H]
  attentions: number[][][][][]; // [L][B][A][T][T]
  pooled: number[][]; // [B][H]
  classificationLogits: number[][];
  regression: number[][];
  /** tf.memory().numTensors before and after the call, to catch leaks. */
  tensorsBefore: number;
  tensorsAfter: number;
}

export interface ImportanceRun {
  backend: string;
  result: ImportanceFixtureResult;
  /** Wall time of computeImportanceFixture alone (model and fixture JSON already loaded). */
  ms: number;
  tensorsBefore: number;
  tensorsAfter: number;
}

const api = {
  async backend(request?: BackendRequest, opts?: SetupOptions): Promise<BackendReport> {
    return setupBrowserBackend(request, opts);
  },

  backendInfo(): BackendReport {
    return backendReport();
  },

  /** What tfjs itself says is active, independent of the report above. */
  activeBackend(): string {
    return tf.getBackend();
  },

  async tokenize(name: string, pairs: TextPair[], maxLength: number): Promise<Encoding[]> {
    const { tokenizer } = await fixture(name);
    return pairs.map((p) => tokenizer.encode(p.a, p.b ?? null, { maxLength, padding: 'max_length' }));
  },

  async forward(name: string, batch: ForwardBatch, heads: { classification: LinearSnapshot; regression: LinearSnapshot }): Promise<ForwardResult> {
    const { model, ckpt } = await fixture(name);
    const H = ckpt.config.hiddenSize;
    const tensorsBefore = tf.memory().numTensors;
    const cls = new LinearLayer('fixture.classification', H, heads.classification.W.length, heads.classification);
    const reg = new LinearLayer('fixture.regression', H, 1, heads.regression);
    const out = tf.tidy(() => {
      const r = model.forward(
        {
          inputIds: tf.tensor2d(batch.inputIds, undefined, 'int32'),
          tokenTypeIds: tf.tensor2d(batch.tokenTypeIds, undefined, 'int32'),
          attentionMask: tf.tensor2d(batch.attentionMask, undefined, 'int32'),
        },
        { outputHiddenStates: true, outputAttentions: true },
      );
      return {
        hidden: tf.stack(r.hiddenStates!),
        attn: tf.stack(r.attentions!),
        pooled: r.pooled,
        logits: cls.apply(r.pooled),
        reg: reg.apply(r.pooled),
      };
    });
    const [hiddenStates, attentions, pooled, classificationLogits, regression] = await Promise.all([
      out.hidden.array(),
      out.attn.array(),
      out.pooled.array(),
      out.logits.array(),
      out.reg.array(),
    ]);
    tf.dispose(Object.values(out));
    cls.dispose();
    reg.dispose();
    return {
      backend: tf.getBackend(),
      hiddenStates: hiddenStates as number[][][][],
      attentions: attentions as number[][][][][],
      pooled: pooled as number[][],
      classificationLogits: classificationLogits as number[][],
      regression: regression as number[][],
      tensorsBefore,
      tensorsAfter: tf.memory().numTensors,
    };
  },

  /**
   * Every `minibatch` importance field of a fixture, recomputed on the active backend. The page fetches the
   * fixture JSON itself: posting 2-3 MB through page.evaluate would be slower and the numbers are identical.
   */
  async importanceFixture(name: string): Promise<ImportanceRun> {
    const { model } = await fixture(name);
    const res = await fetch(`${mirrorUrl(name)}.json`);
    if (!res.ok) throw new Error(`fixture JSON ${name}: HTTP ${res.status}`);
    const fx = (await res.json()) as ImportanceFixture;
    const tensorsBefore = tf.memory().numTensors;
    const t0 = performance.now();
    const result = await computeImportanceFixture(fx, model);
    const ms = performance.now() - t0;
    return { backend: tf.getBackend(), result, ms, tensorsBefore, tensorsAfter: tf.memory().numTensors };
  },

  async encodeTexts(name: string, pairs: TextPair[], maxLength: number): Promise<EncodedRow[]> {
    const { model, tokenizer } = await fixture(name);
    return encodeTexts(model, tokenizer, pairs, { maxLength, attentions: true });
  },

  /** Drives the app's real model worker: load, encode, lose the GPU device, encode again. */
  async workerDeviceLossDrill(name: string, pair: TextPair, maxLength: number) {
    const worker = new Worker(new URL('../../workers/model.worker.ts', import.meta.url), { type: 'module' });
    const remote = Comlink.wrap<ModelWorkerApi>(worker);
    try {
      // Auto would refuse a software adapter (SwiftShader here); the drill needs the GPU device to lose.
      await remote.init(['webgpu', 'wasm', 'cpu']);
      const summary: ModelSummary = await remote.loadModel({ kind: 'url', base: mirrorUrl(name) });
      const before = await remote.encode([pair], { maxLength, attentions: false });
      const lost = await remote.loseDeviceForTest();
      const after = await remote.encode([pair], { maxLength, attentions: false });
      return { summary, before: before[0], lost, after: after[0], backendAfter: await remote.backendInfo() };
    } finally {
      remote[Comlink.releaseProxy]();
      worker.terminate();
    }
  },
};

export type HarnessApi = typeof api;

declare global {
  interface Window {
    __taskscope?: HarnessApi;
  }
}

window.__taskscope = api;
