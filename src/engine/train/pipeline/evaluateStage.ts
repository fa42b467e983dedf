import { getTask } from '../../../../datasets/glueTasks.ts';
import { taskMetrics, withDecision, type TaskEvaluation } from '../evaluate.ts';
import { requireText } from '../runStorage.ts';
import type { PipelineStage } from './types.ts';
import { predictionsJsonl } from './predictionsFile.ts';
import { devSplits, fineTunedDecision, json, loadRunModel, predictWith } from './stageHelpers.ts';

interface TaskReport {
  task: string;
  splits: Record<string, TaskEvaluation>;
  /** Mean over the task's dev splits (MNLI: matched and mismatched). */
  devScore: number;
}

export const evaluateStage: PipelineStage = {
  id: 'evaluate',
  title: 'evaluate on dev',
  enabled: () => true,
  async run(ctx) {
    const { storage } = ctx;
    for (const task of ctx.cfg.finetune.tasks) {
      await ctx.unit(`evaluate/${task}`, async () => {
        const exp = ctx.cfg.finetune.experiments[task];
        const model = await loadRunModel(storage, `finetune/${task}/model`, exp);
        try {
          const spec = model.slot(task).spec;
          const decision = await fineTunedDecision(storage, task);
          const report: TaskReport = { task, splits: {}, devScore: NaN };
          const outputs: string[] = [];
          // Dev splits, and test splits that carry labels (SciTail, SNLI).
          const labelled = getTask(task)
            .splits.filter((s) => s.labelled && s.name !== 'train')
            .map((s) => s.name);
          for (const split of labelled) {
            const p = await predictWith(ctx, model, spec, task, split, exp);
            if (!p) continue;
            const path = `evaluate/${task}.${split}.jsonl`;
            await storage.write(path, predictionsJsonl(withDecision(spec, p, decision)));
            outputs.push(path);
            report.splits[split] = taskMetrics(spec, p, decision);
          }
          const dev = devSplits(task).filter((s) => report.splits[s]);
          if (dev.length === 0) throw new Error(`pipeline: evaluate ${task}: the data has none of its dev splits (${devSplits(task).join(', ')})`);
          report.devScore = dev.reduce((a, s) => a + report.splits[s].score, 0) / dev.length;
          await storage.write(`evaluate/${task}.json`, json(report));
          return [...outputs, `evaluate/${task}.json`];
        } finally {
          model.dispose();
        }
      });
    }
    await ctx.unit('evaluate/summary', async () => {
      const tasks: Record<string, TaskReport> = {};
      for (const task of ctx.cfg.finetune.tasks) tasks[task] = JSON.parse(await requireText(storage, `evaluate/${task}.json`, 'task evaluation')) as TaskReport;
      const scores = Object.values(tasks).map((t) => t.devScore);
      // Task scores are on the 0–1 scale of evaluate.ts; GLUE reports ×100.
      await storage.write(
        'evaluate/summary.json',
        json({
          tasks: Object.fromEntries(Object.entries(tasks).map(([k, t]) => [k, t.devScore])),
          glueScore: scores.reduce((a, b) => a + b, 0) / scores.length,
        }),
      );
      return ['evaluate/summary.json'];
    });
  },
};
