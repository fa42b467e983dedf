import type { BertCheckpoint } from '../checkpoint/types.ts';
import type { Experiment } from '../experiment/experimentSchema.ts';
import { parseHeadsFile } from './exportCheckpoint.ts';
import { buildEncoder } from '../model/modelFactory.ts';
import { MultiTaskModel } from '../model/multiTaskModel.ts';
import { taskSpecFromRegistry, type TaskSpec } from '../model/taskSpec.ts';

/**
 * A model saved by a training run (`exportCheckpointFiles`): the encoder from the HF folder, the heads from
 * heads.json. Used by the pipeline's later stages and by analyses of a finished run (pruning curves).
 */
export function modelFromExport(
  ckpt: Pick<BertCheckpoint, 'config' | 'tensors'>,
  headsText: string,
  exp: Experiment,
  origin: string,
  specs?: Readonly<Record<string, TaskSpec>>,
): MultiTaskModel {
  const heads = parseHeadsFile(headsText, origin);
  const encoder = buildEncoder(exp, { checkpoint: ckpt });
  return MultiTaskModel.create(
    encoder,
    heads.map((h) => {
      const entry = exp.tasks.find((t) => t.name === h.task);
      const spec = specs?.[h.task] ?? taskSpecFromRegistry(h.task, entry?.dropout ?? h.dropout); // specs: tasks outside the GLUE registry
      return { spec, choice: h.kind === 'san' ? ('san' as const) : ('linear' as const), init: { snapshot: h } };
    }),
    exp.seed,
  );
}
