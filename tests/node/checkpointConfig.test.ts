import { describe, expect, it } from 'vitest';
import { parseBertConfig, serializeBertConfig } from '../../src/engine/checkpoint/bertConfig.ts';
import { parseDoLowerCase } from '../../src/engine/checkpoint/tokenizerConfig.ts';
import { expectThrows, readFixtureFile, textOf } from '../helpers/checkpointAsserts.ts';

describe('config.json', () => {
  const base = {
    vocab_size: 200,
    hidden_size: 32,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    intermediate_size: 64,
    max_position_embeddings: 64,
  };
  const parse = (o: unknown) => parseBertConfig(JSON.stringify(o));

  it('applies the HF defaults and maps activations', () => {
    const c = parse({ ...base, hidden_act: 'gelu_pytorch_tanh', refbert_seed: 3 });
    expect(c).toMatchObject({
      typeVocabSize: 2,
      layerNormEps: 1e-12,
      hiddenAct: 'gelu_new',
      hiddenDropoutProb: 0.1,
      attentionProbsDropoutProb: 0.1,
      initializerRange: 0.02,
      padTokenId: 0,
    });
    expect(c.raw.refbert_seed).toBe(3);
    expect(parse({ ...base, hidden_act: 'relu' }).hiddenAct).toBe('relu');
    expect(parse({ ...base, hidden_act: 'gelu_new' }).hiddenAct).toBe('gelu_new');
  });

  it('reports bad configs field by field', () => {
    const { num_attention_heads: _, ...noHeads } = base;
    expectThrows(() => parse(noHeads), 'config.json: missing required field "num_attention_heads"');
    expectThrows(() => parse({ ...base, hidden_size: 'abc' }), 'config.json: field "hidden_size" must be a positive integer, got "abc"');
    expectThrows(() => parse({ ...base, num_hidden_layers: 1.5 }), 'config.json: field "num_hidden_layers" must be a positive integer, got 1.5');
    expectThrows(
      () => parse({ ...base, vocab_size: 0, intermediate_size: null }),
      'config.json: field "vocab_size" must be a positive integer, got 0\nconfig.json: field "intermediate_size" must be a positive integer, got null',
    );
    expectThrows(() => parse({ ...base, hidden_size: 30 }), 'config.json: hidden_size 30 is not divisible by num_attention_heads 4');
    expectThrows(
      () => parse({ ...base, hidden_act: 'swish' }),
      'config.json: field "hidden_act" must be one of "gelu", "gelu_new", "gelu_pytorch_tanh", "relu", got "swish"',
    );
    expectThrows(() => parse({ ...base, layer_norm_eps: -1 }), 'config.json: field "layer_norm_eps" must be a positive number, got -1');
    expectThrows(() => parse({ ...base, hidden_dropout_prob: 1 }), 'config.json: field "hidden_dropout_prob" must be a number in [0, 1), got 1');
    expectThrows(
      () => parse({ ...base, position_embedding_type: 'relative_key' }),
      'config.json: field "position_embedding_type" is "relative_key"; only "absolute" is supported',
    );
    expectThrows(() => parse({ ...base, model_type: 'roberta' }), 'config.json: model_type "roberta" is not supported (only "bert")');
    expectThrows(() => parse([1]), 'config.json: must hold a JSON object, got an array');
    expectThrows(() => parse(null), 'config.json: must hold a JSON object, got null');
    expect(() => parseBertConfig('{"vocab_size": 3,')).toThrow(/^config\.json: not valid JSON \(/);
  });

  it('serializes to HF snake_case, keeping unknown fields and the activation spelling', () => {
    const c = parse({ ...base, hidden_act: 'gelu_pytorch_tanh', refbert_seed: 3, architectures: ['BertForMaskedLM'] });
    const json = JSON.parse(serializeBertConfig({ ...c, hiddenDropoutProb: 0 }));
    expect(json).toEqual({
      ...base,
      architectures: ['BertForMaskedLM'],
      model_type: 'bert',
      hidden_act: 'gelu_pytorch_tanh',
      refbert_seed: 3,
      type_vocab_size: 2,
      layer_norm_eps: 1e-12,
      hidden_dropout_prob: 0,
      attention_probs_dropout_prob: 0.1,
      initializer_range: 0.02,
      pad_token_id: 0,
    });
    expect(JSON.parse(serializeBertConfig({ ...c, hiddenAct: 'relu' })).hidden_act).toBe('relu');
    expect(JSON.parse(serializeBertConfig({ ...c, raw: {} })).architectures).toEqual(['BertModel']);
    const fixtureText = textOf(readFixtureFile('random-tiny', 'config.json'));
    expect(parseBertConfig(serializeBertConfig(parseBertConfig(fixtureText)))).toEqual(parseBertConfig(fixtureText));
  });
});

describe('tokenizer_config.json', () => {
  it('reads do_lower_case, defaulting from the model name', () => {
    expect(parseDoLowerCase('{"do_lower_case": false}')).toBe(false);
    expect(parseDoLowerCase('{"tokenizer_class": "BertTokenizer"}')).toBe(true);
    expect(parseDoLowerCase(null, 'https://hub/google-bert/bert-base-cased/resolve/main')).toBe(false);
    expect(parseDoLowerCase(null, '/models/bert-base-uncased')).toBe(true);
    expect(parseDoLowerCase('{}', 'bert-large-cased-whole-word-masking')).toBe(false);
    expectThrows(() => parseDoLowerCase('{"do_lower_case": "yes"}'), 'tokenizer_config.json: field "do_lower_case" must be true or false, got "yes"');
  });
});
