import type { Command } from 'commander';
import { readFile } from 'node:fs/promises';
import { dirSource } from '../../engine/platform/node/nodeSource.ts';
import { loadBertCheckpoint } from '../../engine/checkpoint/hfFolder.ts';
import { BertTokenizer } from '../../engine/tokenizer/bertTokenizer.ts';
import { BertEncoder } from '../../engine/model/bertEncoder.ts';
import { encodeTexts, type TextPair } from '../../engine/model/encodeTexts.ts';
import { initNodeBackend } from '../nodeBackend.ts';

/** Parses the `--pairs` JSONL file: `{"a": "...", "b": "..."}` per line, `b` optional. */
export function parsePairsJsonl(text: string, file: string): TextPair[] {
  const pairs: TextPair[] = [];
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
  return pairs;
}

export function registerEncodeCommand(program: Command) {
  program.command('encode')
    .description('run the encoder on sentence pairs; one JSON line per input on stdout')
    .requiredOption('--model <dir>', 'Hugging Face BERT folder (config.json, vocab.txt, model.safetensors)')
    .requiredOption('--pairs <file.jsonl>', 'lines of {"a": "...", "b": "..."} (b absent = single sequence)')
    .requiredOption('--max-len <N>', 'maximum sequence length (tokens, specials included)')
    .option('--attentions', 'also output attention probabilities [L][A][T][T]')
    .option('--backend <name>', 'cpu | wasm', 'wasm')
    .option('--batch-size <N>', 'rows per forward pass', '16')
    .action(async (o: { model: string; pairs: string; maxLen: string; attentions?: boolean; backend: string; batchSize: string }) => {
      const maxLength = Number(o.maxLen);
      if (!Number.isInteger(maxLength) || maxLength < 2) throw new Error(`--max-len must be an integer ≥ 2, got "${o.maxLen}"`);
      await initNodeBackend(o.backend);
      const pairs = parsePairsJsonl(await readFile(o.pairs, 'utf8'), o.pairs);
      const ckpt = await loadBertCheckpoint(dirSource(o.model));
      const tokenizer = BertTokenizer.fromVocabText(ckpt.vocabText, { doLowerCase: ckpt.doLowerCase, source: `${o.model}/vocab.txt` });
      const model = BertEncoder.fromCheckpoint(ckpt);
      try {
        const rows = await encodeTexts(model, tokenizer, pairs, { maxLength, attentions: !!o.attentions, batchSize: Number(o.batchSize) });
        for (const r of rows) {
          const { tokens: _tokens, ...line } = r;
          process.stdout.write(JSON.stringify(line) + '\n');
        }
      } finally {
        model.dispose();
      }
    });
}
