/** Numeric command-line values, checked where they are read: the error names the flag and echoes the text. */

export function intOption(name: string, text: string, min = 1): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer >= ${min}, got "${text}"`);
  return n;
}

export function numberOption(name: string, text: string, min = 0): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n < min) throw new Error(`--${name} must be a number >= ${min}, got "${text}"`);
  return n;
}
