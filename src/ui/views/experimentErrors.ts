import { plainMessage } from '../../urlState/plainMessage.ts';

/**
 * parseExperiment's error text → one message per field path, so the composer can show each error next to
 * its field. The error reads `origin: invalid experiment config\n  path: message…` or, for cross-field
 * checks, `origin: path: message`.
 */
export function fieldErrors(message: string, origin: string): Record<string, string> {
  const out: Record<string, string> = {};
  const lines = message.split('\n');
  const body = lines[0].startsWith(`${origin}: invalid experiment config`) ? lines.slice(1) : [lines[0].slice(origin.length + 2), ...lines.slice(1)];
  for (const raw of body) {
    const line = raw.trim();
    const at = line.indexOf(': ');
    if (at < 0) {
      out['(root)'] = out['(root)'] ? `${out['(root)']}; ${line}` : line;
      continue;
    }
    const path = line.slice(0, at);
    const msg = plainMessage(line.slice(at + 2));
    out[path] = out[path] ? `${out[path]}; ${msg}` : msg;
  }
  return out;
}
