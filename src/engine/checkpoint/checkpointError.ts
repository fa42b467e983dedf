/**
 * A problem with a checkpoint file. `file` is the name the message starts with (`model.safetensors`,
 * `config.json`, a URL …) so callers can point the user at the culprit without parsing the message.
 */
export class CheckpointError extends Error {
  override name = 'CheckpointError';
  constructor(
    readonly file: string,
    detail: string,
  ) {
    super(`${file}: ${detail}`);
  }
}

/** Error text for a caught value of unknown type. */
export function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
