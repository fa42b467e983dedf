import * as Comlink from 'comlink';
import { strToU8, zipSync } from 'fflate';

/**
 * Files (paths inside a folder → contents) as `<name>.zip` holding the folder `<name>/`, with the name made safe
 * for a file system, and `extra` fields beside it; the zip's buffer is transferred to the page, not copied.
 */
export function folderZip<E extends object = object>(
  name: string,
  files: ReadonlyMap<string, string | Uint8Array>,
  extra?: E,
): { fileName: string; zip: Uint8Array } & E {
  const folder = name.replace(/[^\w.-]+/g, '-').slice(0, 80) || 'run';
  const zip = zipSync(Object.fromEntries([...files].map(([path, content]) => [`${folder}/${path}`, typeof content === 'string' ? strToU8(content) : content])));
  return Comlink.transfer({ ...(extra as E), fileName: `${folder}.zip`, zip }, [zip.buffer as ArrayBuffer]);
}
