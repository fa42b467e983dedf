const TYPE_WORDS: Record<string, string> = { Array: 'a list', Object: 'an object', string: 'text', boolean: 'true or false', number: 'a number' };

/** The validation library's wording ("Invalid value: Expected >=1 but received 0") as the page says it. */
export function plainMessage(msg: string): string {
  let m = /^Invalid value: Expected >=(\S+) but received (.+)$/.exec(msg);
  if (m) return `must be at least ${m[1]} (got ${m[2]})`;
  m = /^Invalid value: Expected <=(\S+) but received (.+)$/.exec(msg);
  if (m) return `must be at most ${m[1]} (got ${m[2]})`;
  m = /^Invalid type: Expected number but received (.+)$/.exec(msg);
  if (m) return m[1] === 'null' || m[1] === 'undefined' ? 'must be a number (it is empty or null)' : `must be a number (got ${m[1]})`;
  m = /^Invalid type: Expected (.+) but received (.+)$/.exec(msg);
  if (m) {
    const kinds = m[1].split(' | ').map((k) => TYPE_WORDS[k] ?? k);
    return `must be ${kinds.length > 1 ? 'one of ' : ''}${kinds.join(', ')} (got ${m[2]})`;
  }
  m = /^Invalid key: Expected "(.+)" but received undefined$/.exec(msg);
  if (m) return `is missing`;
  return msg;
}
