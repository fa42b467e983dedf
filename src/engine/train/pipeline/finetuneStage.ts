import { loadBertCheckpoint } from '../../checkpoint/hfFolder.ts';
import { distillationLossExtras } from '../distillation.ts';
import { exportCheckpointFiles } from '../exportCheckpoint.ts';
import { buildEncoder, buildMultiTaskModel } from '../../model/modelFactory.ts';
import { runFolderSource, writeRunFolder } from '../runStorage.ts';
import { smartLossExtras, smartOptionsFromExperiment } from '../smart.ts';
import type { PipelineStage } from './types.ts';
import { combineLossExtras, json, readKdTeachers, train } from './stageHelpers.ts';

export const finetuneStage: PipelineStage = {
  id: 'finetune',
  title: 'fine-tune each target task',
  enabled: () => true,
  async run(ctx) {
    for (const task of ctx.cfg.finetune.tasks) {
      await ctx.unit(`finetune/${task}`, async (slot) => {
        const exp = ctx.cfg.finetune.experiments[task];
        const ckpt = await loadBertCheckpoint(runFolderSource(ctx.storage, 'strip/model'));
        const model = buildMultiTaskModel(exp, buildEncoder(exp, { checkpoint: ckpt })); // a fresh linear head
        try {
          const smart = smartOptionsFromExperiment(exp.smart);
          const teachers = await readKdTeachers(ctx.env, ctx.cfg, task);
          const extras = combineLossExtras(
            smart ? smartLossExtras(smart) : null,
            teachers ? distillationLossExtras(new Map([[task, teachers]]), ctx.cfg.finetune.kd!.variant) : null,
          );
          const r = await train(ctx, `finetune/${task}`, slot, exp, model, extras);
          const dir = `finetune/${task}`;
          const files = await exportCheckpointFiles(model, {
            experiment: exp,
            vocabText: ckpt.vocabText,
            doLowerCase: ckpt.doLowerCase,
            metrics: r.evaluation,
          });
          const out = await writeRunFolder(ctx.storage, `${dir}/model`, files);
          await ctx.storage.write(`${dir}/metrics.json`, json(r.evaluation));
          await ctx.storage.write(`${dir}/log.jsonl`, r.log);
          return [...out, `${dir}/metrics.json`, `${dir}/log.jsonl`];
        } finally {
          model.dispose();
        }
      });
    }
  },
};
