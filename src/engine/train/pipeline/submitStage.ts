import { readText } from '../runStorage.ts';
import { buildSubmissionZip, submissionTargets, type SubmissionPredictions } from '../submission.ts';
import { type PipelineStage, SUBMISSION_ZIP } from './types.ts';
import { parsePredictionsJsonl } from './predictionsFile.ts';
import { json } from './stageHelpers.ts';

export const submitStage: PipelineStage = {
  id: 'submit',
  title: 'GLUE submission zip',
  enabled: (cfg) => cfg.submit.enabled,
  async run(ctx) {
    await ctx.unit('submit', async () => {
      const { storage } = ctx;
      const predictions: SubmissionPredictions[] = [];
      for (const t of submissionTargets()) {
        const path = `predict/${t.task.name}.${t.split}.jsonl`;
        const text = await readText(storage, path);
        if (text === null) continue;
        const p = parsePredictionsJsonl(text, `${storage.describe()}/${path}`);
        predictions.push({ task: t.task.name, split: t.split, uids: p.uids, predictions: p.predictions });
      }
      const built = buildSubmissionZip(predictions, { allowPartial: ctx.cfg.submit.partial });
      await storage.write(SUBMISSION_ZIP, built.zip);
      const rows = Object.fromEntries([...built.files].map(([name, text]) => [name, text.split('\n').length - 2]));
      await storage.write('submit/report.json', json({ files: rows, missing: built.missing, warnings: built.warnings }));
      return [SUBMISSION_ZIP, 'submit/report.json'];
    });
  },
};
