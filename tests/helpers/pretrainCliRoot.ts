import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { Command } from 'commander';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng } from '../../src/engine/runtime/rng.ts';
import { registerPretrainCommand } from '../../src/cli/commands/pretrain.ts';

/** Runs one registered CLI command in-process and returns what it wrote to stdout. */
export async function runCliCommand(register: (program: Command) => void, args: string[]): Promise<string> {
  const program = new Command('taskscope').exitOverride();
  register(program);
  let stdout = '';
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string) => ((stdout += chunk), true)) as typeof process.stdout.write;
  try {
    await program.parseAsync(['node', 'taskscope', ...args]);
  } finally {
    process.stdout.write = write;
  }
  return stdout;
}

/** A tiny GLUE folder (80 CoLA sentences) and a `taskscope pretrain` runner writing to `<root>/<dir>`. */
export function pretrainCliRoot() {
  const root = mkdtempSync(join(tmpdir(), 'mlm-cli-'));
  const words = ['the', 'cat', 'sat', 'on', 'mat', 'dog', 'is', 'not', 'good', 'bad', 'very', 'movie', 'it', 'was', 'fun', 'boring'];
  const rng = new Rng(8);
  const lines = Array.from({ length: 80 }, (_, i) => `src\t1\t\t${Array.from({ length: 4 + (i % 5) }, () => words[rng.int(words.length)]).join(' ')} ${i}.`);
  mkdirSync(join(root, 'glue', 'CoLA'), { recursive: true });
  writeFileSync(join(root, 'glue', 'CoLA', 'train.tsv'), `${lines.join('\n')}\n`);
  const cli = (dir: string, ...args: string[]) =>
    runCliCommand(registerPretrainCommand, ['pretrain', '--glue', join(root, 'glue'), '--out', join(root, dir), ...args]);
  return { root, cli };
}

/** A 1-layer H32 model on 16-token sequences: seconds per run on wasm. */
export const SMALL_PRETRAIN_ARGS = [
  ...['--layers', '1', '--hidden', '32', '--heads', '2', '--intermediate', '64'],
  ...['--max-len', '16', '--batch-size', '4', '--held-out', '3', '--save-every', '2'],
];

export const readJsonLines = (file: string): Record<string, unknown>[] =>
  readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
