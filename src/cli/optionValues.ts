/** Numeric command-line values, checked where they are read: the error names the flag and echoes the text. */

// Plain decimal only: Number() would also take "", " ", "0x10", "0b1" and "Infinity".
const INTEGER = /^[+-]?\d+$/;
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

export function intOption(name: string, text: string, min = 1, max = Number.MAX_SAFE_INTEGER): number {
  const n = INTEGER.test(text.trim()) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new Error(`--${name} must be an integer ${max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `from ${min} to ${max}`}, got "${text}"`);
  }
  return n;
}

export function numberOption(name: string, text: string, min = 0, max = Infinity): number {
  const n = DECIMAL.test(text.trim()) ? Number(text) : NaN;
  if (!Number.isFinite(n) || n < min) throw new Error(`--${name} must be a number >= ${min}, got "${text}"`);
  if (n > max) throw new Error(`--${name} must be a number from ${min} to ${max}, got "${text}"`);
  return n;
}

/** Any finite number (e.g. a threshold that may be negative). */
export function finiteOption(name: string, text: string): number {
  const n = DECIMAL.test(text.trim()) ? Number(text) : NaN;
  if (!Number.isFinite(n)) throw new Error(`--${name} must be a number, got "${text}"`);
  return n;
}

/** A comma-separated list of numbers from `min` to `max`; the error names the flag and the bad item. */
export function numberListOption(name: string, text: string, min: number, max: number): number[] {
  const items = text.split(',');
  return items.map((item) => {
    const n = DECIMAL.test(item.trim()) ? Number(item) : NaN;
    if (!Number.isFinite(n) || n < min || n > max)
      throw new Error(`--${name} must be comma-separated numbers from ${min} to ${max}, got "${item}" in "${text}"`);
    return n;
  });
}
