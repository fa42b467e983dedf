import { describe, expect, it } from 'vitest';
import { parseVariantConfig, serializeVariantConfig, type VariantName } from '../../src/engine/model/variants/variantConfig.ts';
import { createVariantExtension } from '../../src/engine/model/variants/createVariantExtension.ts';
import { taskIdOfParam } from '../../src/engine/model/variants/extensionParams.ts';
import { bertParameterCount, variantParameterCounts } from '../../src/engine/model/variants/parameterCounts.ts';
import { NUM_TASKS, ckpt, encoder, useVariantEncoder, variantConfig } from '../helpers/variantEncoder.ts';

/* Model variants (docs/methods.md §5.1, §5.3, §5.4) on the random-tiny encoder: see tests/helpers/variantEncoder.ts. */
useVariantEncoder();

describe('variant config (seed config shape, valibot)', () => {
  const bertBase = {
    attention_probs_dropout_prob: 0.1,
    hidden_act: 'gelu',
    hidden_dropout_prob: 0.1,
    hidden_size: 768,
    initializer_range: 0.02,
    intermediate_size: 3072,
    max_position_embeddings: 512,
    num_attention_heads: 12,
    num_hidden_layers: 12,
    type_vocab_size: 2,
    vocab_size: 30522,
  };

  it('reads the seed embert_config.json (num_tasks set at runtime) as EmBERT with the seed defaults', () => {
    const c = parseVariantConfig(JSON.stringify({ ...bertBase, our_attn: true }), { numTasks: 8 });
    expect(c).toMatchObject({
      variant: 'embert',
      numTasks: 8,
      hiddenSizeAug: 204,
      palHeads: 6,
      palSharedProjections: true,
      gatedSeqLen: 128,
      gatedTaskScale: 'scalar',
    });
    expect(c.bert.hiddenSize).toBe(768);
  });

  it('reads pals_config.json (pals + mult) as PALs, and needs "variant" to pick Gated-BERT', () => {
    expect(parseVariantConfig(JSON.stringify({ ...bertBase, hidden_size_aug: 204, mult: true, pals: true, num_tasks: 8 })).variant).toBe('pals');
    expect(parseVariantConfig(JSON.stringify({ ...bertBase, variant: 'gated', our_attn: true, num_tasks: 8 })).variant).toBe('gated');
    expect(parseVariantConfig(JSON.stringify({ ...bertBase, num_tasks: 8 })).variant).toBe('mtdnn');
  });

  it('round-trips through serializeVariantConfig', () => {
    const c = parseVariantConfig(
      JSON.stringify({ ...bertBase, variant: 'pals', num_tasks: 4, hidden_size_aug: 48, pal_heads: 4, pal_shared_projections: false }),
    );
    const back = parseVariantConfig(serializeVariantConfig(c));
    const { raw: _r1, ...b1 } = c.bert;
    const { raw: _r2, ...b2 } = back.bert;
    expect({ ...back, bert: b2 }).toEqual({ ...c, bert: b1 });
    expect(JSON.parse(serializeVariantConfig(c))).toMatchObject({ pals: true, mult: true, our_attn: false, hidden_size_aug: 48 });
  });

  it('lets small models set hidden_size_aug and rejects a PAL head count that does not divide it', () => {
    const tiny = { ...bertBase, hidden_size: 128, num_hidden_layers: 2, num_attention_heads: 2, intermediate_size: 512 };
    expect(parseVariantConfig(JSON.stringify({ ...tiny, variant: 'pals', num_tasks: 8, hidden_size_aug: 24 })).hiddenSizeAug).toBe(24);
    expect(() => parseVariantConfig(JSON.stringify({ ...tiny, variant: 'pals', num_tasks: 8, hidden_size_aug: 100 }))).toThrow(
      'variant_config.json: field "pal_heads" (6) must divide hidden_size_aug (100): each PAL head gets hidden_size_aug / pal_heads dimensions (e.g. hidden_size_aug 24 or 48 with 6 heads for small models)',
    );
  });

  it('names the field in every error', () => {
    const parse = (extra: Record<string, unknown>) => () => parseVariantConfig(JSON.stringify({ ...bertBase, num_tasks: 8, ...extra }));
    expect(parse({ hidden_size_aug: 0 })).toThrow('variant_config.json: field "hidden_size_aug" must be a positive integer, got 0');
    expect(parse({ variant: 'lora' })).toThrow('variant_config.json: field "variant" must be one of "mtdnn", "embert", "gated", "pals", got "lora"');
    expect(parse({ variant: 'gated', our_attn: false })).toThrow('variant_config.json: field "our_attn" is false, but variant "gated" needs true');
    expect(parse({ mult: true })).toThrow('variant_config.json: fields "pals" (false) and "mult" (true) must both be true for PALs');
    expect(parse({ houlsby: true })).toThrow('variant_config.json: field "houlsby" is true, but that seed configuration is not implemented');
    expect(parse({ variant: 'gated', gated_seq_len: 1024 })).toThrow('variant_config.json: field "gated_seq_len" (1024) exceeds max_position_embeddings (512)');
    expect(parse({ pal_shared_projections: 'yes' })).toThrow('variant_config.json: field "pal_shared_projections" must be true or false, got "yes"');
    expect(() => parseVariantConfig(JSON.stringify({ ...bertBase, our_attn: true }))).toThrow(
      'variant_config.json: missing required field "num_tasks" (the seeds set it at runtime: pass numTasks)',
    );
  });
});

describe('parameter counts from the config alone', () => {
  const base = { vocabSize: 30522, hiddenSize: 768, numHiddenLayers: 12, intermediateSize: 3072, maxPositionEmbeddings: 512, typeVocabSize: 2 };
  const opts = (variant: VariantName) => ({
    variant,
    numTasks: 8,
    hiddenSizeAug: 204,
    palHeads: 6,
    palSharedProjections: true,
    gatedSeqLen: 128,
    gatedTaskScale: 'scalar' as const,
  });

  it('BERT-base: 109,482,240 encoder parameters; EmBERT adds 3·768·12 = 27,648 per task', () => {
    expect(bertParameterCount(base)).toBe(109_482_240); // HF BertModel bert-base-uncased
    const e = variantParameterCounts(base, opts('embert'));
    expect(e.perTask).toBe(27_648);
    expect(e.extensionShared).toBe(0);
    expect(e.total).toBe(109_482_240 + 8 * 27_648);
    expect(variantParameterCounts(base, opts('mtdnn')).total).toBe(109_482_240);
  });

  it('BERT-base PALs (r 204, shared V^E/V^D) and Gated-BERT (r 204, seq 128), counted by hand', () => {
    // PALs per task: V^E 768·204+204 = 156,876; V^D 204·768+768 = 157,440; 12 layers × 3·(204²+204) = 1,505,520.
    expect(variantParameterCounts(base, opts('pals')).perTask).toBe(156_876 + 157_440 + 1_505_520);
    // Gated per task: EmBERT on 11 layers 25,344; Q and K low-rank 2 × (156,876 + 157,440); V 768²+768 = 590,592; 5 scalars.
    const g = variantParameterCounts(base, opts('gated'));
    expect(g.perTask).toBe(25_344 + 2 * 314_316 + 590_592 + 5);
    // Gates: 2 × (768·128·8 + 8).
    expect(g.extensionShared).toBe(2 * (768 * 128 * 8 + 8));
  });

  const allocCases: [VariantName, Record<string, unknown>][] = [
    ['embert', {}],
    ['gated', {}],
    ['gated', { gated_task_scale: 'hidden' }],
    ['pals', {}],
    ['pals', { pal_shared_projections: false }],
  ];
  for (const [variant, extra] of allocCases) {
    it(`matches the allocated variables: ${variant} ${JSON.stringify(extra)}`, () => {
      const cfg = variantConfig(ckpt.config, variant, extra);
      const ext = createVariantExtension(cfg, { from: 'random', seed: 1 })!;
      let shared = 0;
      const perTask = new Array<number>(NUM_TASKS).fill(0);
      for (const [name, v] of ext.namedVariables()) {
        const task = taskIdOfParam(name);
        // EmBERT/Gated task-embedding tables [T, w]: each task owns one row.
        if (/task_emb_/.test(name)) for (let i = 0; i < NUM_TASKS; i++) perTask[i] += v.size / NUM_TASKS;
        else if (task === null) shared += v.size;
        else perTask[task] += v.size;
      }
      const counts = variantParameterCounts(cfg.bert, cfg);
      expect(shared).toBe(counts.extensionShared);
      expect(perTask).toEqual(new Array(NUM_TASKS).fill(counts.perTask));
      expect(bertParameterCount(cfg.bert)).toBe([...encoder.namedVariables().values()].reduce((a, v) => a + v.size, 0));
      ext.dispose();
    });
  }
});
