import { Command, CommanderError } from 'commander';
import { packageVersion } from './packageRoot.ts';

type Register = (program: Command) => void;

/**
 * Each command's module, loaded only when needed: most of them pull in tfjs and the engine, which costs more
 * start-up time than anything else, and `taskscope --version` or `taskscope data check` need none of the rest.
 * Listed in the order `taskscope --help` shows them.
 */
const COMMANDS: Record<string, () => Promise<Register>> = {
  encode: () => import('./commands/encode.ts').then((m) => m.registerEncodeCommand),
  data: () => import('./commands/data.ts').then((m) => m.registerDataCommands),
  pretrain: () => import('./commands/pretrain.ts').then((m) => m.registerPretrainCommand),
  select: () => import('./commands/select.ts').then((m) => m.registerSelectCommand),
  train: () => import('./commands/train.ts').then((m) => m.registerTrainCommand),
  pipeline: () => import('./commands/pipeline.ts').then((m) => m.registerPipelineCommand),
  study: () => import('./commands/study.ts').then((m) => m.registerStudyCommand),
  prune: () => import('./commands/prune.ts').then((m) => m.registerPruneCommand),
  assets: () => import('./commands/assets.ts').then((m) => m.registerAssetsCommand),
  'export-torch': () => import('./commands/exportTorch.ts').then((m) => m.registerExportTorchCommand),
  'import-run': () => import('./commands/importRun.ts').then((m) => m.registerImportRunCommand),
};

/** The commands argv needs: the one it names, or all of them for the overall help and for an unknown name. */
export function commandsFor(argv: string[]): string[] {
  const args = argv.slice(2);
  const named = args.find((a) => !a.startsWith('-'));
  if (named && named in COMMANDS) return [named];
  if (!named && args.some((a) => a === '-V' || a === '--version')) return [];
  return Object.keys(COMMANDS);
}

/** `taskscope <command>`: the same engine as the browser app, headless, on the wasm or cpu backend. */
export async function main(argv: string[]): Promise<void> {
  const program = new Command('taskscope')
    .description('Taskscope: multi-task learning on GLUE, headless')
    .version(packageVersion(), '-V, --version', 'print the version of taskscope')
    .exitOverride()
    .showHelpAfterError();
  try {
    for (const name of commandsFor(argv)) (await COMMANDS[name]())(program);
    await program.parseAsync(argv);
  } catch (e) {
    if (e instanceof CommanderError) process.exit(e.exitCode);
    process.stderr.write(`taskscope: ${(e as Error).message}\n`);
    process.exit(1);
  }
}
