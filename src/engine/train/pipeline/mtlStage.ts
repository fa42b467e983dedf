import { exportCheckpointFiles } from '../exportCheckpoint.ts';
import { buildMultiTaskModel } from '../../model/modelFactory.ts';
import { writeRunFolder } from '../runStorage.ts';
import { smartLossExtras, smartOptionsFromExperiment } from '../smart.ts';
import type { PipelineStage } from './types.ts';
import { json, train } from './stageHelpers.ts';

export const mtlStage: PipelineStage = {
  id: 'mtl',
  title: 'multi-task training',
  enabled: () => true,
  async run(ctx) {
    await ctx.unit('mtl', async (slot) => {
      const exp = ctx.cfg.mtl;
      const init = await ctx.env.initialModel(exp);
      const model = buildMultiTaskModel(exp, init.encoder);
      try {
        const smart = smartOptionsFromExperiment(exp.smart);
        const r = await train(ctx, 'mtl', slot, exp, model, smart ? smartLossExtras(smart) : undefined);
        const files = await exportCheckpointFiles(model, { experiment: exp, vocabText: init.vocabText, doLowerCase: init.doLowerCase, metrics: r.evaluation });
        const out = await writeRunFolder(ctx.storage, 'mtl/model', files);
        await ctx.storage.write('mtl/metrics.json', json(r.evaluation));
        await ctx.storage.write('mtl/log.jsonl', r.log);
        return [...out, 'mtl/metrics.json', 'mtl/log.jsonl'];
      } finally {
        model.dispose();
      }
    });
  },
};
