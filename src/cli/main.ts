import { Command, CommanderError } from 'commander';
import { registerDataCommands } from './commands/data.ts';
import { registerEncodeCommand } from './commands/encode.ts';
import { registerExportTorchCommand } from './commands/exportTorch.ts';
import { registerImportRunCommand } from './commands/importRun.ts';
import { registerPipelineCommand } from './commands/pipeline.ts';
import { registerPretrainCommand } from './commands/pretrain.ts';
import { registerPruneCommand } from './commands/prune.ts';
import { registerSelectCommand } from './commands/select.ts';
import { registerStudyCommand } from './commands/study.ts';
import { registerTrainCommand } from './commands/train.ts';

/** `taskscope <command>`: the same engine as the browser app, headless, on the wasm or cpu backend. */
export async function main(argv: string[]): Promise<void> {
  const program = new Command('taskscope')
    .description('Taskscope: multi-task learning on GLUE, headless')
    .exitOverride()
    .showHelpAfterError();
  registerEncodeCommand(program);
  registerDataCommands(program);
  registerPretrainCommand(program);
  registerSelectCommand(program);
  registerTrainCommand(program);
  registerPipelineCommand(program);
  registerStudyCommand(program);
  registerPruneCommand(program);
  registerExportTorchCommand(program);
  registerImportRunCommand(program);
  try {
    await program.parseAsync(argv);
  } catch (e) {
    if (e instanceof CommanderError) process.exit(e.exitCode);
    process.stderr.write(`taskscope: ${(e as Error).message}\n`);
    process.exit(1);
  }
}
