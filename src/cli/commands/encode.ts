import type { Command } from 'commander';
import { readFile } from 'node:fs/promises';
import { dirSource } from '../../engine/platform/node/nodeSource.ts';
import { loadBertCheckpoint } from '../../engine/checkpoint/hfFolder.ts';
import { BertTokenizer } from '../../engine/tokenizer/bertTokenizer.ts';
import { BertEncoder } from '../../engine/model/bertEncoder.ts';
import { encodeTexts, type TextPair } from '../../engine/model/encodeTexts.ts';
import { initNodeBackend } from '../nodeBackend.ts';
import { intOption } from '../optionValues.ts';

/** The `--pairs` file as text: UTF-8 (a BOM is dropped); invalid bytes are an error naming the line. */
export async function readPairsText(file: string): Promise<string> {
  const bytes = await readFile(file).catch((e: NodeJS.ErrnoException) => {
    throw new Error(`--pairs ${file}: ${e.code === 'ENOENT' ? 'not found' : e.code === 'EISDIR' ? 'is a directory, not a JSONL file' : e.message}`);
  });
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    // Find the line: decode line by line (0x0A never occurs inside a multi-byte UTF-8 sequence).
    let start = 0;
    for (let line = 1; ; line++) {
      const nl = bytes.indexOf(10, start);
      const end = nl < 0 ? bytes.length : nl;
      try {
        new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(start, end));
      } catch {
        throw new Error(`${file}:${line}: not valid UTF-8 text`);
      }
      if (nl < 0) throw new Error(`${file}: not valid UTF-8 text`);
      start = nl + 1;
    }
  }
}

/** Parses the `--pairs` JSONL file: `{"a": "...", "b": "..."}` per line, `b` optional; at least one pair. */
export function parsePairsJsonl(text: string, file: string): TextPair[] {
  const pairs: TextPair[] = [];
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  text.split(/\r?\n/).forEach((line, i) => {
    if (!line.trim()) return;
    let obj: unknown;
    try {
      obj = JSON.parse(line);
    } catch (e) {
      throw new Error(`${file}:${i + 1}: not valid JSON (${(e as Error).message})`);
    }
    const o = obj as Record<string, unknown>;
    if (typeof o !== 'object' || o === null || typeof o.a !== 'string') throw new Error(`${file}:${i + 1}: field "a" must be a string`);
    if (o.b !== undefined && o.b !== null && typeof o.b !== 'string') throw new Error(`${file}:${i + 1}: field "b" must be a string when present`);
    pairs.push({ a: o.a, b: (o.b as string | undefined) ?? null });
  });
  if (pairs.length === 0)
    throw new Error(`${file}: no pairs (the file ${text === '' ? 'is empty' : 'has only blank lines'}); expected lines of {"a": "...", "b": "..."}`);
  return pairs;
}

export function registerEncodeCommand(program: Command) {
  program
    .command('encode')
    .description('run the encoder on sentence pairs; one JSON line per input on stdout')
    .requiredOption('--model <dir>', 'Hugging Face BERT folder (config.json, vocab.txt, model.safetensors)')
    .requiredOption('--pairs <file.jsonl>', 'lines of {"a": "...", "b": "..."} (b absent = single sequence)')
    .requiredOption('--max-len <N>', 'maximum sequence length (tokens, specials included)')
    .option('--attentions', 'also output attention probabilities [L][A][T][T]')
    .option('--backend <name>', 'cpu | wasm', 'wasm')
    .option('--batch-size <N>', 'rows per forward pass', '16')
    .action(async (o: { model: string; pairs: string; maxLen: string; attentions?: boolean; backend: string; batchSize: string }) => {
      const maxLength = intOption('max-len', o.maxLen, 2);
      const batchSize = intOption('batch-size', o.batchSize, 1);
      await initNodeBackend(o.backend);
      const pairs = parsePairsJsonl(await readPairsText(o.pairs), o.pairs);
      const ckpt = await loadBertCheckpoint(dirSource(o.model));
      const tokenizer = BertTokenizer.fromVocabText(ckpt.vocabText, { doLowerCase: ckpt.doLowerCase, source: `${o.model}/vocab.txt` });
      const model = BertEncoder.fromCheckpoint(ckpt);
      try {
        const rows = await encodeTexts(model, tokenizer, pairs, { maxLength, attentions: !!o.attentions, batchSize });
        for (const r of rows) {
          const { tokens: _tokens, ...line } = r;
          process.stdout.write(JSON.stringify(line) + '\n');
        }
      } finally {
        model.dispose();
      }
    });
}
