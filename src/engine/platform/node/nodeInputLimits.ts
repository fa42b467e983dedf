// Node only: the input limits of the CLI, each raised by an environment variable the limit's message names.
import { DEFAULT_INPUT_LIMITS, type InputLimitName, type InputLimits } from '../../data/inputLimits.ts';

export const INPUT_LIMIT_ENV: Record<InputLimitName, string> = {
  maxEntryBytes: 'TASKSCOPE_MAX_INPUT_BYTES',
  maxRatio: 'TASKSCOPE_MAX_INFLATE_RATIO',
  maxRows: 'TASKSCOPE_MAX_ROWS',
  maxPageBytes: 'TASKSCOPE_MAX_PAGE_BYTES',
};

/** The defaults, overridden by `TASKSCOPE_MAX_*` variables in `env`; a bad value is an error naming the variable. */
export function nodeInputLimits(env: Record<string, string | undefined> = process.env): InputLimits {
  const limits: InputLimits = { ...DEFAULT_INPUT_LIMITS, howToRaise: (name) => `set ${INPUT_LIMIT_ENV[name]} to raise it` };
  for (const [name, variable] of Object.entries(INPUT_LIMIT_ENV) as [InputLimitName, string][]) {
    const text = env[variable];
    if (text === undefined) continue;
    const value = Number(text);
    if (text.trim() === '' || !Number.isInteger(value) || value < 1) throw new Error(`${variable} must be an integer >= 1, got "${text}"`);
    limits[name] = value;
  }
  return limits;
}
