import { Command, CommanderError } from 'commander';
import { packageVersion } from './packageRoot.ts';

type Register = (program: Command) => void;

interface CommandEntry {
  /** The command's description, for the overall help (tests/node/cliStartup.test.ts checks it matches the module's). */
  summary: string;
  load: () => Promise<Register>;
}

/**
 * Each command's module is loaded only when that command runs: most pull in tfjs and the engine, the largest
 * part of start-up time, which `taskscope --help`, `--version` or `data check` do not need. Listed in the order
 * the overall help shows them.
 */
export const COMMANDS: Record<string, CommandEntry> = {
  encode: {
    summary: 'run the encoder on sentence pairs; one JSON line per input on stdout',
    load: () => import('./commands/encode.ts').then((m) => m.registerEncodeCommand),
  },
  data: {
    summary: 'GLUE data: check the files, build token shards',
    load: () => import('./commands/data.ts').then((m) => m.registerDataCommands),
  },
  pretrain: {
    summary: 'masked-LM pretraining (BERT 80/10/10 masking, tied MLM head) on the text of the GLUE files',
    load: () => import('./commands/pretrain.ts').then((m) => m.registerPretrainCommand),
  },
  release: {
    summary: 'a pretraining run as a small release checkpoint: F16 weights, its stages and held-out evaluation, SHA-256 sums',
    load: () => import('./commands/release.ts').then((m) => m.registerReleaseCommand),
  },
  select: {
    summary: 'auxiliary-task selection (GradTS-trial, GradTS-fg, FastMTL, random) for a target task; writes what was chosen and why as JSON',
    load: () => import('./commands/select.ts').then((m) => m.registerSelectCommand),
  },
  train: {
    summary: 'train one experiment (MT-DNN / SIWLM multi-task) headless; run again with the same --out to resume',
    load: () => import('./commands/train.ts').then((m) => m.registerTrainCommand),
  },
  pipeline: {
    summary: 'the MT-DNN pipeline: multi-task training → strip heads → fine-tune each task → evaluate → predict test → GLUE zip; re-run to continue',
    load: () => import('./commands/pipeline.ts').then((m) => m.registerPipelineCommand),
  },
  study: {
    summary: 'run a comparison (arms × tasks × seeds) as child CLI runs and tabulate mean ± std',
    load: () => import('./commands/study.ts').then((m) => m.registerStudyCommand),
  },
  prune: {
    summary: 'head-pruning curve of a trained run: dev metric vs fraction of heads masked, importance order vs random orders',
    load: () => import('./commands/prune.ts').then((m) => m.registerPruneCommand),
  },
  assets: {
    summary: 'fetch the GLUE Parquet files, BERT-Tiny config/vocabulary and test fixtures (SHA-256 checked) into .cache/shared',
    load: () => import('./commands/assets.ts').then((m) => m.registerAssetsCommand),
  },
  'export-torch': {
    summary: 'write an experiment as a PyTorch folder (train.py + data + starting weights) that torchrun trains on one machine or a cluster',
    load: () => import('./commands/exportTorch.ts').then((m) => m.registerExportTorchCommand),
  },
  'import-run': {
    summary: 'bring a run trained by an export-torch folder (its train.py --out folder) back as a Taskscope run: metrics, curves, head importance',
    load: () => import('./commands/importRun.ts').then((m) => m.registerImportRunCommand),
  },
};

/**
 * The command argv runs (`taskscope train …`, `taskscope help train`), or null when it names none: the overall
 * help, --version, or an unknown name, which all need only the list of commands.
 */
export function commandOf(argv: string[]): string | null {
  const [first, second] = argv.slice(2).filter((a) => !a.startsWith('-'));
  const named = first === 'help' ? second : first;
  return named !== undefined && named in COMMANDS ? named : null;
}

/** `taskscope <command>`: the same engine as the browser app, headless, on the wasm or cpu backend. */
export async function main(argv: string[]): Promise<void> {
  const program = new Command('taskscope')
    .description('Taskscope: multi-task learning on GLUE, headless')
    .version(packageVersion(), '-V, --version', 'print the version of taskscope')
    .exitOverride()
    .showHelpAfterError();
  try {
    const name = commandOf(argv);
    if (name) (await COMMANDS[name].load())(program);
    else for (const [n, c] of Object.entries(COMMANDS)) program.command(n).description(c.summary).helpOption(false);
    await program.parseAsync(argv);
  } catch (e) {
    if (e instanceof CommanderError) process.exit(e.exitCode);
    process.stderr.write(`taskscope: ${(e as Error).message}\n`);
    process.exit(1);
  }
}
