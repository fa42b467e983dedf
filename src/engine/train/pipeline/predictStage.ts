import type { SplitName } from '../../../../datasets/types.ts';
import { averageTeachers, serializeSoftLabels } from '../distillation.ts';
import type { SplitPredictions } from '../evaluate.ts';
import { readText } from '../runStorage.ts';
import type { PipelineStage } from './types.ts';
import { parsePredictionsJsonl, predictionsJsonl } from './predictionsFile.ts';
import { fineTunedDecision, loadRunModel, predictWith, testSplits } from './stageHelpers.ts';

export const predictStage: PipelineStage = {
  id: 'predict',
  title: 'predict test sets',
  enabled: () => true,
  async run(ctx) {
    const { storage, cfg } = ctx;
    const teacher = cfg.predict.teacher;
    for (const task of cfg.finetune.tasks) {
      await ctx.unit(`predict/${task}`, async () => {
        const exp = cfg.finetune.experiments[task];
        const model = await loadRunModel(storage, `finetune/${task}/model`, exp);
        const outputs: string[] = [];
        const write = async (file: string, p: SplitPredictions | null) => {
          if (!p) return;
          await storage.write(file, predictionsJsonl(p));
          outputs.push(file);
        };
        try {
          const spec = model.slot(task).spec;
          const decision = await fineTunedDecision(storage, task);
          for (const split of testSplits(task)) await write(`predict/${task}.${split}.jsonl`, await predictWith(ctx, model, spec, task, split, exp, decision));
          // The diagnostic set is scored with the MNLI model (same three labels).
          if (task === 'MNLI') await write('predict/AX.test.jsonl', await predictWith(ctx, model, spec, 'AX', 'test', exp));
          if (teacher && spec.type === 'classification') {
            for (const split of teacher.splits) {
              const own = `predict/${task}.${split}.jsonl`;
              if (!outputs.includes(own)) await write(own, await predictWith(ctx, model, spec, task, split as SplitName, exp));
              if (!outputs.includes(own)) throw new Error(`pipeline: predict.teacher: the data has no ${task} ${split} split`);
              const runs = [
                storage,
                ...teacher.ensembleWith.map((r) => {
                  if (!ctx.env.openRun) throw new Error('pipeline: predict.teacher.ensembleWith names other runs, but this host cannot open them');
                  return ctx.env.openRun(r);
                }),
              ];
              const members = [];
              for (const run of runs) {
                const text = await readText(run, own);
                if (text === null)
                  throw new Error(`pipeline: predict.teacher: ${run.describe()}/${own} not found (run its predict stage with the same teacher splits)`);
                members.push(parsePredictionsJsonl(text, `${run.describe()}/${own}`));
              }
              const soft = averageTeachers(task, split, spec.numLabels, members);
              const file = `teacher/${task}.${split}.soft.jsonl`;
              await storage.write(file, serializeSoftLabels(soft));
              outputs.push(file);
            }
          }
          return outputs;
        } finally {
          model.dispose();
        }
      });
    }
  },
};
