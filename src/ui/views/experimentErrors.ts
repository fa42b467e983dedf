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

/** The validation library's wording ("Invalid value: Expected >=1 but received 0") as the page says it. */
export function plainMessage(msg: string): string {
  let m = /^Invalid value: Expected >=(\S+) but received (.+)$/.exec(msg);
  if (m) return `must be at least ${m[1]} (got ${m[2]})`;
  m = /^Invalid value: Expected <=(\S+) but received (.+)$/.exec(msg);
  if (m) return `must be at most ${m[1]} (got ${m[2]})`;
  m = /^Invalid type: Expected number but received (.+)$/.exec(msg);
  if (m) return m[1] === 'null' || m[1] === 'undefined' ? 'must be a number (the field is empty)' : `must be a number (got ${m[1]})`;
  m = /^Invalid type: Expected (.+) but received (.+)$/.exec(msg);
  if (m) return `must be ${m[1].split(' | ').join(', ')} (got ${m[2]})`;
  m = /^Invalid key: Expected "(.+)" but received undefined$/.exec(msg);
  if (m) return `is missing`;
  return msg;
}
