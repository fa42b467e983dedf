/** `(bytes so far, total bytes or undefined when the server does not say)`. */
export type ProgressCallback = (loaded: number, total: number | undefined) => void;

/**
 * Where the files of a checkpoint folder come from (a URL base, user-picked files, a directory in Node).
 * `name` is a file name inside the folder (`config.json`). Errors name the full location of the file.
 */
export interface ModelSource {
  /** The folder's location, for messages and `BertCheckpoint.origin`. */
  describe(): string;
  readText(name: string): Promise<string>;
  readBytes(name: string, onProgress?: ProgressCallback): Promise<Uint8Array>;
  has(name: string): Promise<boolean>;
}

export { urlSource, type UrlSourceOptions } from './urlSource.ts';
export { filesSource, type PickedFiles } from './filesSource.ts';
