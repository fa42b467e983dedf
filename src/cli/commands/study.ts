import type { Command } from 'commander';
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseStudy, taskEntry } from '../study/studyConfig.ts';
import { runStudy } from '../study/runStudy.ts';
import { intOption } from '../optionValues.ts';
import { studyResults, studyTable } from '../study/studyTable.ts';
import { plantedReport } from '../study/plantedReport.ts';

interface StudyCliOptions {
  parallel: string;
  arms?: string;
  tasks?: string;
  tableOnly?: boolean;
}

/** `taskscope study <study.json>`: run (or continue) every arm × task × seed, then write results.md and results.json. */
export function registerStudyCommand(program: Command): void {
  program
    .command('study')
    .description('run a comparison (arms × tasks × seeds) as child CLI runs and tabulate mean ± std')
    .argument('<study.json>', 'study file (see src/cli/study/studyConfig.ts)')
    .option('--parallel <N>', 'runs at a time (each uses one core on wasm)', '2')
    .option('--arms <a,b>', 'only these arms')
    .option('--tasks <a,b>', 'only the single-task runs of these tasks')
    .option('--table-only', 'do not run anything; tabulate the finished runs')
    .action(async (file: string, o: StudyCliOptions) => {
      const path = resolve(file);
      const study = parseStudy(JSON.parse(await readFile(path, 'utf8')), path);
      const note = (l: string) => process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${l}\n`);
      let failures = 0;
      const tasks = o.tasks?.split(',');
      const known = [...new Set([...study.tasks, ...study.arms.flatMap((a) => a.tasks ?? [])].map((t) => taskEntry(t).name))];
      const unknown = tasks?.find((t) => !known.includes(t));
      if (unknown) throw new Error(`--tasks: ${unknown} is not a task of ${path} (${known.join(', ')})`);
      if (!o.tableOnly) failures = await runStudy(study, { parallel: intOption('parallel', o.parallel), arms: o.arms?.split(','), tasks, note });
      const results = studyResults(study);
      const table = study.report === 'planted' ? `${studyTable(study, results)}\n${plantedReport(study, results)}` : studyTable(study, results);
      await mkdir(study.outDir, { recursive: true });
      await writeFile(join(study.outDir, 'results.md'), table);
      await writeFile(join(study.outDir, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
      process.stdout.write(table);
      if (failures) throw new Error(`${failures} run(s) failed`);
    });
}
