/**
 * Tokenizer throughput: Taskscope's BertTokenizer vs @huggingface/tokenizers on the same text
 * (SST-2 train sentences + MRPC train pairs), interleaved rounds, medians.
 *   npx tsx bench/tokenizerBench.ts [--rows 20000] [--rounds 5]
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { Tokenizer } from '@huggingface/tokenizers';
import { BertTokenizer } from '../src/engine/tokenizer/bertTokenizer.ts';
import type { TextPair } from '../src/engine/tokenizer/types.ts';
import { assetsDir, glueDir, repoRoot } from '../tests/helpers/shared.ts';

export interface TokenizerBenchOptions {
  /** SST-2 train rows to use (default 20,000). All MRPC train pairs are added. */
  sst2Rows?: number;
  /** Interleaved rounds per implementation (default 5); the median is reported. */
  rounds?: number;
  /** Max tokens per encoding; the inputs are far shorter, so nothing is truncated (default 512). */
  maxLength?: number;
  /** Where to write the JSON; null to skip (default bench/results/tokenizer.json). */
  outFile?: string | null;
  log?: (line: string) => void;
}

export interface ImplResult {
  name: string;
  roundsMs: number[];
  medianMs: number;
  tokensPerSec: number;
  sentencesPerSec: number;
}

export interface TokenizerBenchResult {
  corpus: { sst2Sentences: number; mrpcPairs: number; sentences: number; encodings: number; tokens: number };
  /** Fresh BertTokenizer each round: includes filling the chunk cache (one pass over a new data set). */
  taskscopeCold: ImplResult;
  /** Second pass on the same instance (cache filled), as in later training epochs. */
  taskscopeWarm: ImplResult;
  huggingface: ImplResult;
  /** Throughput ratio Taskscope / @huggingface/tokenizers (> 1: Taskscope faster). */
  ratioCold: number;
  ratioWarm: number;
  /** Encodings whose ids differ between the two (checked once, outside timing); expected 0. */
  mismatchedEncodings: number;
  taskscopeConstructMs: number;
  node: string;
  date: string;
}

function tsvRows(path: string): string[][] {
  const lines = readFileSync(path, 'utf8')
    .replace(/^\uFEFF/, '')
    .split('\n')
    .slice(1);
  return lines.filter((l) => l.length > 0).map((l) => l.split('\t'));
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export async function runTokenizerBench(opts: TokenizerBenchOptions = {}): Promise<TokenizerBenchResult> {
  const sst2Rows = opts.sst2Rows ?? 20_000;
  const rounds = opts.rounds ?? 5;
  const maxLength = opts.maxLength ?? 512;
  const log = opts.log ?? ((line: string) => console.log(line));
  const outFile = opts.outFile === undefined ? resolve(repoRoot, 'bench/results/tokenizer.json') : opts.outFile;

  const sst2 = tsvRows(resolve(glueDir, 'SST-2/train.tsv'))
    .slice(0, sst2Rows)
    .map((r): TextPair => [r[0], null]);
  const mrpc = tsvRows(resolve(glueDir, 'MRPC/train.tsv')).map((r): TextPair => [r[3], r[4]]);
  const inputs: TextPair[] = [...sst2, ...mrpc];
  const sentences = sst2.length + 2 * mrpc.length;

  const modelDir = resolve(assetsDir, 'models/bert-tiny-uncased');
  const vocabText = readFileSync(resolve(modelDir, 'vocab.txt'), 'utf8');
  const hf = new Tokenizer(
    JSON.parse(readFileSync(resolve(modelDir, 'tokenizer.json'), 'utf8')),
    JSON.parse(readFileSync(resolve(modelDir, 'tokenizer_config.json'), 'utf8')),
  );
  const t0 = performance.now();
  const newOurs = () => BertTokenizer.fromVocabText(vocabText, { doLowerCase: true });
  newOurs();
  const taskscopeConstructMs = performance.now() - t0;

  // Both produce ids and token strings per encoding; the sink keeps the work observable.
  let sink = 0;
  const runOurs = (tok: BertTokenizer): number => {
    let tokens = 0;
    for (const [a, b] of inputs) {
      const e = tok.encode(a, b, { maxLength, padding: 'none' });
      tokens += e.inputIds.length;
      sink += e.tokens.length;
    }
    return tokens;
  };
  const runHf = (): number => {
    let tokens = 0;
    for (const [a, b] of inputs) {
      const e = hf.encode(a, b ? { text_pair: b, return_token_type_ids: true } : { return_token_type_ids: true });
      tokens += e.ids.length;
      sink += e.tokens.length;
    }
    return tokens;
  };

  // Correctness once, outside timing.
  const check = newOurs();
  let mismatchedEncodings = 0;
  for (const [a, b] of inputs) {
    const ours = check.encode(a, b, { maxLength, padding: 'none' });
    const theirs = hf.encode(a, b ? { text_pair: b, return_token_type_ids: true } : { return_token_type_ids: true });
    if (ours.inputIds.join() !== theirs.ids.join() || ours.tokenTypeIds.join() !== theirs.token_type_ids.join()) mismatchedEncodings++;
  }

  const times = { cold: [] as number[], warm: [] as number[], hf: [] as number[] };
  let tokenCount = -1;
  const record = (key: keyof typeof times, fn: () => number) => {
    const start = performance.now();
    const n = fn();
    times[key].push(performance.now() - start);
    if (tokenCount >= 0 && n !== tokenCount) throw new Error(`token count changed between runs: ${n} vs ${tokenCount}`);
    tokenCount = n;
  };
  for (let r = 0; r < rounds; r++) {
    const ours = newOurs();
    const steps: Array<() => void> = [
      () => {
        record('cold', () => runOurs(ours));
        record('warm', () => runOurs(ours));
      },
      () => record('hf', runHf),
    ];
    // Alternate which implementation goes first, so warm-up and background load fall on both.
    if (r % 2 === 1) steps.reverse();
    for (const step of steps) step();
    log(
      `round ${r + 1}/${rounds}: taskscope cold ${times.cold[r].toFixed(0)} ms, warm ${times.warm[r].toFixed(0)} ms, huggingface ${times.hf[r].toFixed(0)} ms`,
    );
  }
  if (sink === 0) throw new Error('no tokens produced');

  const impl = (name: string, roundsMs: number[]): ImplResult => {
    const medianMs = median(roundsMs);
    return { name, roundsMs, medianMs, tokensPerSec: (tokenCount / medianMs) * 1000, sentencesPerSec: (sentences / medianMs) * 1000 };
  };
  const result: TokenizerBenchResult = {
    corpus: { sst2Sentences: sst2.length, mrpcPairs: mrpc.length, sentences, encodings: inputs.length, tokens: tokenCount },
    taskscopeCold: impl('taskscope (cold cache)', times.cold),
    taskscopeWarm: impl('taskscope (warm cache)', times.warm),
    huggingface: impl('@huggingface/tokenizers 0.2.0', times.hf),
    ratioCold: median(times.hf) / median(times.cold),
    ratioWarm: median(times.hf) / median(times.warm),
    mismatchedEncodings,
    taskscopeConstructMs,
    node: process.version,
    date: new Date().toISOString(),
  };

  const c = result.corpus;
  log(
    `\ncorpus: ${c.sst2Sentences} SST-2 sentences + ${c.mrpcPairs} MRPC pairs = ${c.sentences} sentences, ${c.encodings} encodings, ${c.tokens} tokens; ${rounds} rounds, median`,
  );
  log(`${'implementation'.padEnd(32)}${'median ms'.padStart(11)}${'tokens/s'.padStart(13)}${'sentences/s'.padStart(13)}`);
  for (const r of [result.taskscopeCold, result.taskscopeWarm, result.huggingface]) {
    log(
      `${r.name.padEnd(32)}${r.medianMs.toFixed(1).padStart(11)}${Math.round(r.tokensPerSec).toLocaleString('en-US').padStart(13)}${Math.round(r.sentencesPerSec).toLocaleString('en-US').padStart(13)}`,
    );
  }
  log(
    `ratio taskscope/huggingface: cold ${result.ratioCold.toFixed(2)}x, warm ${result.ratioWarm.toFixed(2)}x; mismatched encodings ${mismatchedEncodings}; BertTokenizer construction ${taskscopeConstructMs.toFixed(1)} ms`,
  );

  if (outFile) {
    mkdirSync(dirname(outFile), { recursive: true });
    writeFileSync(outFile, JSON.stringify(result, null, 2) + '\n');
    log(`wrote ${outFile}`);
  }
  return result;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const arg = (flag: string) => {
    const i = process.argv.indexOf(flag);
    return i >= 0 ? Number(process.argv[i + 1]) : undefined;
  };
  await runTokenizerBench({ sst2Rows: arg('--rows'), rounds: arg('--rounds') });
}
