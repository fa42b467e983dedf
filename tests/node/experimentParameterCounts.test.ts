import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { useBackend } from '../helpers/nodeBackends.ts';
import { parseExperiment, type Experiment } from '../../src/engine/experiment/experimentSchema.ts';
import { taskIdOfParam } from '../../src/engine/model/variants/extensionParams.ts';
import { VARIANTS, type VariantName } from '../../src/engine/model/variants/variantConfig.ts';
import {
  BERT_BASE_UNCASED_VOCAB_SIZE,
  describeParameterCounts,
  experimentParameterCounts,
  headParameterCount,
  randomModelShape,
} from '../../src/engine/model/experimentParameterCounts.ts';
import { buildEncoder, buildMultiTaskModel, randomBertConfig, variantExtensionFor } from '../../src/engine/model/modelFactory.ts';
import { taskSpecFromRegistry, type TaskSpec } from '../../src/engine/model/taskSpec.ts';

/*
 * The counts from shapes alone against the variables a built model really holds (cpu backend, a random
 * L2 H16 encoder over the 45-word synthetic vocabulary): linear 2-class (RTE), SAN 3-class (MNLI), regression
 * (STS-B) and ranking (QNLI given a ranking spec) heads, for every variant. r = 8 with 2 PAL heads keeps it small.
 */

const sizeOf = (vars: Iterable<tf.Variable>) => [...vars].reduce((a, v) => a + v.size, 0);

function tinyExperiment(variant: VariantName): Experiment {
  return parseExperiment({
    tasks: [{ name: 'RTE' }, { name: 'MNLI', head: 'san' }, { name: 'STS-B' }, { name: 'QNLI' }],
    model: { kind: 'random', layers: 2, hidden: 16, heads: 2, intermediate: 32, vocab: 'synthetic' },
    variant: { kind: variant, hiddenSizeAug: 8, palHeads: 2 },
    seed: 5,
  });
}
const QNLI_RANKING: TaskSpec = { ...taskSpecFromRegistry('QNLI'), type: 'ranking', numLabels: 1 };

beforeAll(() => useBackend('cpu'));

describe('experiment parameter counts', () => {
  it('the random-model shape is the one randomBertConfig builds (synthetic vocabulary: 5 specials + 40 words)', () => {
    const exp = tinyExperiment('mtdnn');
    const shape = randomModelShape(exp)!;
    const c = randomBertConfig(exp.model as Extract<Experiment['model'], { kind: 'random' }>, 45, 0.1);
    expect(shape).toEqual({
      vocabSize: 45,
      hiddenSize: c.hiddenSize,
      numHiddenLayers: c.numHiddenLayers,
      intermediateSize: c.intermediateSize,
      maxPositionEmbeddings: c.maxPositionEmbeddings,
      typeVocabSize: c.typeVocabSize,
    });
    const base = parseExperiment({ ...exp, model: { kind: 'random', vocab: 'bert-base-uncased' } });
    expect(randomModelShape(base)!.vocabSize).toBe(BERT_BASE_UNCASED_VOCAB_SIZE);
    expect(randomModelShape(parseExperiment({ ...exp, model: { kind: 'url', url: './m' } }))).toBeNull();
  });

  it('head sizes by hand (H 16): linear 2-class 34, regression 17, SAN 3-class 2,116; SAN on regression is refused', () => {
    const cls = taskSpecFromRegistry('RTE');
    expect(headParameterCount('RTE', cls, 'linear', 16)).toEqual({ kind: 'classification', count: 16 * 2 + 2 });
    expect(headParameterCount('STS-B', taskSpecFromRegistry('STS-B'), 'linear', 16)).toEqual({ kind: 'regression', count: 17 });
    // query_wsum 17 + attn 272 + classifier 4·16·3+3 = 195 + GRU 2·(3·16·16) + 2·48 = 1,632.
    expect(headParameterCount('MNLI', taskSpecFromRegistry('MNLI'), 'san', 16)).toEqual({ kind: 'san', count: 17 + 272 + 195 + 1632 });
    expect(() => headParameterCount('STS-B', taskSpecFromRegistry('STS-B'), 'san', 16)).toThrow(
      'heads: STS-B is a regression task; the SAN answer module is for classification only (use head "linear")',
    );
  });

  for (const variant of VARIANTS) {
    it(`${variant}: every part equals the sizes of the variables a built MultiTaskModel allocates`, () => {
      const before = tf.memory().numTensors;
      const exp = tinyExperiment(variant);
      const shape = randomModelShape(exp)!;
      const specs = { QNLI: QNLI_RANKING };
      const counts = experimentParameterCounts(exp, shape, specs);
      const encoder = buildEncoder(exp, { vocabSize: shape.vocabSize });
      const extension = variantExtensionFor(exp, encoder);
      const model = buildMultiTaskModel(exp, encoder, { specs, extension });
      try {
        const all = [...model.namedVariables().values()];
        expect(all.every((v) => v.trainable)).toBe(true);
        expect(counts.total).toBe(sizeOf(all));

        const extensionVars = extension ? extension.namedVariables() : new Map<string, tf.Variable>();
        expect(counts.sharedEncoder).toBe(sizeOf(model.encoderVariables().values()) - sizeOf(extensionVars.values()));
        const T = exp.tasks.length;
        let shared = 0;
        const perTask = new Array<number>(T).fill(0);
        for (const [name, v] of extensionVars) {
          const task = taskIdOfParam(name);
          // EmBERT/Gated task-embedding tables [T, w]: each task owns its row.
          if (/task_emb_/.test(name)) for (let i = 0; i < T; i++) perTask[i] += v.size / T;
          else if (task === null) shared += v.size;
          else perTask[task] += v.size;
        }
        expect(counts.variantShared).toBe(shared);
        // The model's task ids follow runTaskOrder, which is the listed order without SIWLM.
        expect(counts.tasks.map((t) => t.variant)).toEqual(perTask);
        expect(counts.tasks.map((t) => [t.task, t.headKind, t.head])).toEqual(
          exp.tasks.map((t) => [t.name, model.head(t.name).kind, sizeOf(model.head(t.name).namedVariables().values())]),
        );
        if (variant === 'mtdnn') expect(counts.variantShared + perTask.reduce((a, b) => a + b, 0)).toBe(0);
        else expect(perTask[0]).toBeGreaterThan(0);
        if (variant === 'gated') expect(shared).toBe(2 * (128 * 16 * T + T)); // gates read the flattened [128·H] sequence
      } finally {
        model.dispose();
      }
      expect(tf.memory().numTensors).toBe(before);
    });
  }

  it('describes the counts on one line (L1 H16 I32 over 30,522 words: (30,522 + 512 + 2)·16 + 32 + 2,224 + 272)', () => {
    const exp = parseExperiment({ tasks: [{ name: 'RTE' }, { name: 'STS-B' }], model: { kind: 'random', layers: 1, hidden: 16, heads: 2, intermediate: 32 } });
    expect(describeParameterCounts(experimentParameterCounts(exp, randomModelShape(exp)!))).toBe(
      'parameters (mtdnn): shared encoder 499,104 + variant shared 0; per task RTE 34 (variant 0 + classification head 34), ' +
        'STS-B 17 (variant 0 + regression head 17); total 499,155',
    );
  });
});
