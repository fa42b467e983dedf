import type { Command } from 'commander';
import { cp, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { dirSource } from '../../engine/platform/node/nodeSource.ts';
import type { LoadedSplit } from '../../engine/data/shardReader.ts';
import { analyseImportedRun, lastEvaluation, loadRunCheckpoint, parseRunLog, splitFromJsonl } from '../../engine/export/torch/importRun.ts';
import { initNodeBackend } from '../nodeBackend.ts';

export interface ImportRunOptions {
  data?: string;
  out?: string;
  importanceRows?: string;
  backend?: string;
}

const exists = (p: string) =>
  stat(p).then(
    () => true,
    () => false,
  );

/** Largest |a − b| over the metrics both evaluations have (NaN on both sides counts as equal). */
export function metricDifference(a: ReturnType<typeof lastEvaluation>, b: ReturnType<typeof lastEvaluation>): number {
  if (!a || !b) return NaN;
  let worst = 0;
  for (const t of a.tasks) {
    const u = b.tasks.find((x) => x.task === t.task);
    if (!u) return NaN;
    for (const [m, v] of Object.entries(t.metrics)) {
      const w = u.metrics[m as keyof typeof u.metrics] ?? NaN;
      if (Number.isNaN(v) && Number.isNaN(w)) continue;
      worst = Math.max(worst, Math.abs((v ?? NaN) - w));
    }
  }
  return worst;
}

/**
 * `taskscope import-run <folder>`: a run trained elsewhere (the exported PyTorch trainer's --out folder: log.jsonl,
 * metrics.json, checkpoint/) becomes a Taskscope run folder: the checkpoint is loaded by Taskscope, its dev metrics
 * are recomputed and compared with the log, and head importance and the task correlation are computed on it.
 */
export async function runImportRunCli(
  folder: string,
  o: ImportRunOptions,
  note: (line: string) => void = (l) => process.stderr.write(`${l}\n`),
): Promise<string> {
  const src = resolve(folder);
  const out = resolve(o.out ?? src);
  const rowsText = o.importanceRows ?? '64';
  const importanceRows = Number(rowsText);
  if (!Number.isInteger(importanceRows) || importanceRows < 1) throw new Error(`--importance-rows must be a positive integer, got "${rowsText}"`);
  await initNodeBackend(o.backend === 'wasm' ? 'wasm' : 'cpu');
  const logText = await readFile(join(src, 'log.jsonl'), 'utf8').catch(() => {
    throw new Error(`${src}: no log.jsonl (expected the --out folder of an exported train.py run)`);
  });
  const log = parseRunLog(logText, join(src, 'log.jsonl'));
  const logged = lastEvaluation(log);
  const metricsFile = join(src, 'metrics.json');
  const summary = (await exists(metricsFile)) ? (JSON.parse(await readFile(metricsFile, 'utf8')) as Record<string, unknown>) : {};
  const dataDir = resolve(o.data ?? (typeof summary.exportDir === 'string' ? summary.exportDir : ''));
  const exportSpec = JSON.parse(
    await readFile(join(dataDir, 'export.json'), 'utf8').catch(() => {
      throw new Error(`--data: ${dataDir} is not an export-torch folder (no export.json); pass the folder train.py ran from`);
    }),
  ) as { padId: number; evalBatchSize: number };

  const { experiment, model } = await loadRunCheckpoint(dirSource(join(src, 'checkpoint')));
  try {
    const dev: Record<string, LoadedSplit> = {};
    for (const t of model.tasks) {
      const file = join(dataDir, 'data', t, 'dev.jsonl');
      if (await exists(file)) dev[t] = splitFromJsonl(t, 'dev', await readFile(file, 'utf8'), exportSpec.padId, file);
    }
    const lastStep = [...log].reverse().find((l) => l.type === 'step')!;
    const analysis = await analyseImportedRun(model, dev, {
      evalBatchSize: exportSpec.evalBatchSize,
      importanceRows,
      step: Number(lastStep.step),
      epoch: Number(lastStep.epoch ?? 0),
    });
    const diff = metricDifference(logged, analysis.evaluation);
    note(
      `${experiment.name}: ${log.filter((l) => l.type === 'step').length} steps imported; dev metrics recomputed by Taskscope differ from the log by at most ${diff.toExponential(2)}`,
    );
    type Importance = Record<string, { raw: number[][]; normalized: number[][] } | undefined>;
    const torchFile = join(src, 'importance.json');
    const torchImportance = (await exists(torchFile)) ? (JSON.parse(await readFile(torchFile, 'utf8')) as { tasks: Importance }).tasks : null;
    const importanceDiff = torchImportance
      ? Math.max(
          ...Object.entries(analysis.importance).map(([t, m]) => {
            const p = torchImportance[t];
            if (!p) return NaN;
            return Math.max(...m.normalized.flatMap((row, l) => row.map((v, h) => Math.abs(v - p.normalized[l][h]))));
          }),
        )
      : null;
    if (importanceDiff !== null) note(`head importance (normalised) of the exported trainer vs Taskscope: max difference ${importanceDiff.toExponential(2)}`);

    if (out !== src) {
      await mkdir(out, { recursive: true });
      await cp(join(src, 'checkpoint'), join(out, 'checkpoint'), { recursive: true });
      await writeFile(join(out, 'log.jsonl'), logText);
    }
    const metrics = {
      ...summary,
      status: summary.status ?? 'done',
      evaluation: logged ?? analysis.evaluation,
      imported: { from: src, trainer: 'export-torch' },
    };
    await writeFile(join(out, 'metrics.json'), `${JSON.stringify(metrics, null, 2)}\n`);
    await writeFile(
      join(out, 'import.json'),
      `${JSON.stringify(
        {
          format: 'taskscope-import/1',
          from: src,
          loggedEvaluation: logged,
          taskscopeEvaluation: analysis.evaluation,
          maxMetricDifference: diff,
          importance: analysis.importance,
          correlation: analysis.correlation,
          torchImportanceMaxDifference: importanceDiff,
        },
        (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v),
        2,
      )}\n`,
    );
    note(`wrote ${out} (metrics.json, import.json with Taskscope's dev metrics, head importance and task correlation)`);
  } finally {
    model.dispose();
  }
  return out;
}

export function registerImportRunCommand(program: Command): void {
  program
    .command('import-run <folder>')
    .description('bring a run trained by an export-torch folder (its train.py --out folder) back as a Taskscope run: metrics, curves, head importance')
    .option('--data <export folder>', 'the export-torch folder it was trained from (default: the one its metrics.json names)')
    .option('--out <dir>', 'the run folder to write (default: the imported folder itself)')
    .option('--importance-rows <n>', 'dev rows per task for head importance', '64')
    .option('--backend <name>', 'cpu | wasm', 'cpu')
    .action(async (folder: string, o: ImportRunOptions) => {
      await runImportRunCli(folder, o);
    });
}
