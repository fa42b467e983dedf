import { CheckpointError, errorText } from './checkpointError.ts';

/**
 * The one `tokenizer_config.json` setting the BERT tokenizer needs. Without the file or the field,
 * transformers' BertTokenizer lower-cases; we additionally treat a model whose name says "cased" (and not
 * "uncased", e.g. `bert-base-cased`) as cased, since old Hub folders of cased models often lack the file.
 */
export function parseDoLowerCase(text: string | null, modelName = '', file = 'tokenizer_config.json'): boolean {
  const nameSaysCased = /(^|[^a-z])cased/i.test(modelName) && !/uncased/i.test(modelName);
  if (text === null) return !nameSaysCased;
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new CheckpointError(file, `not valid JSON (${errorText(e)})`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new CheckpointError(file, 'must hold a JSON object');
  const value = (raw as Record<string, unknown>).do_lower_case;
  if (value === undefined) return !nameSaysCased;
  if (typeof value !== 'boolean') {
    throw new CheckpointError(file, `field "do_lower_case" must be true or false, got ${JSON.stringify(value)}`);
  }
  return value;
}

/** A minimal BertTokenizer `tokenizer_config.json`, merged over an existing one when given. */
export function serializeTokenizerConfig(doLowerCase: boolean, modelMaxLength: number, existing?: string): string {
  let base: Record<string, unknown> = {};
  if (existing !== undefined) {
    try {
      base = JSON.parse(existing) as Record<string, unknown>;
    } catch (e) {
      throw new CheckpointError('tokenizer_config.json', `the one given to save is not valid JSON (${errorText(e)})`);
    }
  }
  const out = { tokenizer_class: 'BertTokenizer', model_max_length: modelMaxLength, ...base, do_lower_case: doLowerCase };
  return `${JSON.stringify(out, null, 2)}\n`;
}
