import { loadBertCheckpoint, saveBertCheckpoint } from '../../checkpoint/hfFolder.ts';
import { parseHeadsFile } from '../exportCheckpoint.ts';
import { requireText, runFolderSource, writeRunFolder } from '../runStorage.ts';
import type { PipelineStage } from './types.ts';
import { json } from './stageHelpers.ts';

export const stripStage: PipelineStage = {
  id: 'strip',
  title: 'strip the task layers',
  enabled: () => true,
  async run(ctx) {
    await ctx.unit('strip', async () => {
      const { storage } = ctx;
      // MT-DNN strip_model: drop every task head (scoring_list), keep the encoder and its pooler.
      const ckpt = await loadBertCheckpoint(runFolderSource(storage, 'mtl/model'));
      const heads = parseHeadsFile(await requireText(storage, 'mtl/model/heads.json', 'task heads'));
      const files = saveBertCheckpoint({ config: ckpt.config, vocabText: ckpt.vocabText, doLowerCase: ckpt.doLowerCase, tensors: ckpt.tensors });
      const out = await writeRunFolder(storage, 'strip/model', files);
      await storage.write('strip/strip.json', json({ from: 'mtl/model', droppedHeads: heads.map((h) => h.task), encoderTensors: ckpt.tensors.size }));
      return [...out, 'strip/strip.json'];
    });
  },
};
