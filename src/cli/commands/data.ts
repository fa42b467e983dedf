import type { Command } from 'commander';
import { Presets, SingleBar } from 'cli-progress';
import { formatEta } from '../../engine/runtime/formatDuration.ts';
import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { GLUE_TASKS, getTask } from '../../../datasets/glueTasks.ts';
import type { SplitName, TaskDef } from '../../../datasets/types.ts';
import { parseDoLowerCase } from '../../engine/checkpoint/tokenizerConfig.ts';
import { buildShards, DEFAULT_SHARD_SIZE, type BuildProgress } from '../../engine/data/buildShards.ts';
import { checkTask } from '../../engine/data/checkSplits.ts';
import { formatIssue, MAX_ISSUES_KEPT } from '../../engine/data/dataError.ts';
import { parquetSourceFromPath, tsvSourceFromPath } from '../../engine/platform/node/nodeFiles.ts';
import { FolderShardStore } from '../../engine/platform/node/nodeShardStore.ts';
import { DEFAULT_HUB_MIRROR } from '../../engine/data/parquetSource.ts';
import type { DataSource } from '../../engine/data/types.ts';
import { BertTokenizer } from '../../engine/tokenizer/bertTokenizer.ts';
import { intOption } from '../optionValues.ts';

type Print = (line: string) => void;

export interface SourceOptions {
  task: string;
  /** GLUE TSV folder, or a zip of one. */
  dir?: string;
  /** Hub mirror URL or a folder in the Hub layout; `true` (flag without a value) = huggingface.co. */
  hub?: string | boolean;
  split?: string[];
}

export interface BuildCliOptions extends SourceOptions {
  model: string;
  maxLen: string;
  out: string;
  shardSize?: string;
  progress?: boolean;
}

async function sourceOf(o: SourceOptions): Promise<DataSource> {
  if (o.dir && o.hub) throw new Error('give either --dir or --hub, not both');
  if (o.dir) {
    return tsvSourceFromPath(o.dir).catch((e: Error) => {
      throw new Error(`--dir: ${e.message}`);
    });
  }
  if (o.hub) return parquetSourceFromPath(o.hub === true ? DEFAULT_HUB_MIRROR : o.hub);
  throw new Error('give --dir <GLUE folder or zip> or --hub [mirror URL or folder]');
}

/** `all`, one task, or a comma-separated list; names or the originals' aliases. */
function tasksOf(spec: string): TaskDef[] {
  if (spec.trim().toLowerCase() === 'all') return [...GLUE_TASKS];
  return spec.split(',').map((t) => getTask(t));
}

function splitsOf(task: TaskDef, wanted?: string[]): SplitName[] {
  if (!wanted || wanted.length === 0) return task.splits.map((s) => s.name);
  return wanted.map((w) => {
    const s = task.splits.find((d) => d.name === w);
    if (!s) throw new Error(`${task.name} has no split "${w}" (splits: ${task.splits.map((d) => d.name).join(', ')})`);
    return s.name;
  });
}

/** `data check`: prints row counts per split and every malformed row; returns the exit code (1 = malformed rows). */
export async function runDataCheck(o: SourceOptions, print: Print): Promise<number> {
  const source = await sourceOf(o);
  let malformed = 0;
  let found = 0;
  for (const task of tasksOf(o.task)) {
    print(`${task.name} (${source.describe()})`);
    for (const r of await checkTask(source, task, splitsOf(task, o.split))) {
      if (r.file === null && r.issues.length === 0) {
        print(`  ${r.split.padEnd(16)} missing`);
        continue;
      }
      found++;
      const official =
        r.officialRows === undefined ? '' : r.rows === r.officialRows ? `  (official ${r.officialRows})` : `  (official ${r.officialRows}: differs)`;
      const skipped = r.skipped > 0 ? `, ${r.skipped} skipped` : '';
      const bad = r.issueCount > 0 ? `, ${r.issueCount} malformed` : '';
      const labels = r.labelCounts && task.labels ? `  [${task.labels.map((l, i) => `${l} ${r.labelCounts![i]}`).join(', ')}]` : '';
      print(`  ${r.split.padEnd(16)} ${String(r.rows).padStart(7)} rows${skipped}${bad}${official}${labels}`);
      const shown = r.issues.filter((i) => !i.fatal);
      for (const issue of shown) print(`    ${formatIssue(issue)}`);
      const hidden = r.issueCount - r.issues.length;
      if (hidden > 0)
        print(`    … and ${hidden} more malformed row${hidden === 1 ? '' : 's'} (only the first ${MAX_ISSUES_KEPT} per split are kept and shown)`);
      for (const issue of r.issues.filter((i) => i.fatal)) print(`    ${formatIssue(issue)}`);
      malformed += r.issueCount;
    }
  }
  if (found === 0) {
    print(`no split of ${o.task} found in ${source.describe()}`);
    return 2;
  }
  if (malformed > 0) print(`${malformed} malformed row${malformed === 1 ? '' : 's'}`);
  return malformed > 0 ? 1 : 0;
}

/** Reads `vocab.txt` and (if present) `tokenizer_config.json` from a model folder. */
export async function tokenizerFromModelDir(dir: string): Promise<BertTokenizer> {
  const vocabPath = join(dir, 'vocab.txt');
  const vocab = await readFile(vocabPath, 'utf8').catch((e: NodeJS.ErrnoException) => {
    throw new Error(`${vocabPath}: ${e.code === 'ENOENT' ? 'not found (the model folder needs a vocab.txt)' : e.message}`);
  });
  const configPath = join(dir, 'tokenizer_config.json');
  const config = await readFile(configPath, 'utf8').catch(() => null);
  return BertTokenizer.fromVocabText(vocab, { doLowerCase: parseDoLowerCase(config, basename(dir), configPath), source: vocabPath });
}

/** `data build`: tokenizes each split the source has into shards under `--out`; returns the exit code. */
export async function runDataBuild(o: BuildCliOptions, print: Print): Promise<number> {
  const maxLength = intOption('max-len', o.maxLen, 3, 65535);
  const shardSize = o.shardSize === undefined ? DEFAULT_SHARD_SIZE : intOption('shard-size', o.shardSize, 1);
  const source = await sourceOf(o);
  const tokenizer = await tokenizerFromModelDir(o.model);
  const store = new FolderShardStore(o.out);
  const showBar = o.progress !== false && !!process.stderr.isTTY;
  let built = 0;
  for (const task of tasksOf(o.task)) {
    for (const split of splitsOf(task, o.split)) {
      if (!(await source.locate(task, split))) {
        if (o.split?.includes(split)) throw new Error(`${source.describe()} has no ${task.name} ${split}`);
        continue;
      }
      const bar = showBar
        ? new SingleBar(
            { format: `${task.name}/${split} |{bar}| {percentage}% | {rows} rows | {shards} shards | ETA {eta}`, stream: process.stderr },
            Presets.shades_classic,
          )
        : null;
      let started = false;
      let last: BuildProgress | undefined;
      const onProgress = (p: BuildProgress) => {
        last = p;
        if (!bar) return;
        const payload = { rows: p.rows, shards: p.shardsWritten + p.shardsReused, eta: formatEta(p.etaSeconds) };
        if (!started) {
          bar.start(p.totalBytes ?? 1, 0, payload);
          started = true;
        }
        if (p.totalBytes) bar.setTotal(p.totalBytes);
        bar.update(p.phase === 'done' ? (p.totalBytes ?? 1) : p.bytes, payload);
      };
      const t0 = Date.now();
      let m;
      try {
        m = await buildShards(source, task, split, tokenizer, { store, maxLength, shardSize, onProgress });
      } finally {
        bar?.stop();
      }
      const secs = (Date.now() - t0) / 1000;
      const dir = store.dir(m);
      const reused = last?.shardsReused ? `, ${last.shardsReused} reused` : '';
      const skipped = m.skippedRows ? `, ${m.skippedRows} skipped` : '';
      print(
        `${task.name}/${split}: ${m.rows} rows → ${m.shards.length} shards${reused}, ${(m.bytes / 1e6).toFixed(2)} MB, ${m.rowsAtMaxLength} rows at ${maxLength} tokens${skipped} (${secs.toFixed(1)} s) → ${dir}`,
      );
      built++;
    }
  }
  if (built === 0) {
    print(`no split of ${o.task} found in ${source.describe()}`);
    return 2;
  }
  return 0;
}

const out: Print = (line) => process.stdout.write(`${line}\n`);
const collectSplits = (v: string, prev: string[] = []) => [...prev, ...v.split(',')];

export function registerDataCommands(program: Command): void {
  const data = program.command('data').description('GLUE data: check the files, build token shards');
  data
    .command('check')
    .description('count rows per split and list every malformed row (file:line: reason); exit 1 if any')
    .requiredOption('--task <TASK>', `task name or alias, a comma list, or "all" (${GLUE_TASKS.map((t) => t.name).join(', ')})`)
    .option('--dir <path>', 'GLUE folder as download_glue_data.py writes it, or a zip of it')
    .option('--hub [mirror-or-dir]', `Hub Parquet files: a mirror URL (default ${DEFAULT_HUB_MIRROR}) or a folder in the Hub layout`)
    .option('--split <name>', 'only these splits (repeatable or comma-separated)', collectSplits)
    .action(async (o: SourceOptions) => {
      process.exitCode = await runDataCheck(o, out);
    });
  data
    .command('build')
    .description('tokenize splits into checksummed shards in a folder (the same bytes the browser keeps in IndexedDB)')
    .requiredOption('--task <TASK>', 'task name or alias, a comma list, or "all"')
    .option('--dir <path>', 'GLUE folder or zip')
    .option('--hub [mirror-or-dir]', 'Hub mirror URL or folder in the Hub layout')
    .requiredOption('--model <dir>', 'model folder with vocab.txt (and tokenizer_config.json)')
    .option('--max-len <N>', 'maximum tokens per example, specials included', '128')
    .requiredOption('--out <folder>', 'where the shards go')
    .option('--split <name>', 'only these splits (repeatable or comma-separated)', collectSplits)
    .option('--shard-size <N>', 'rows per shard', String(DEFAULT_SHARD_SIZE))
    .option('--no-progress', 'no progress bar')
    .action(async (o: BuildCliOptions) => {
      process.exitCode = await runDataBuild(o, out);
    });
}
