import { meanStd } from './studyTable.ts';

/** Numbers as the planted report prints them: fixed digits, p-values, mean ± sample sd. */
export const f2 = (x: number) => x.toFixed(2);
export const f3 = (x: number) => x.toFixed(3);
export const pv = (p: number) => (p < 0.001 ? p.toExponential(1) : p.toFixed(3));
export const ms = (xs: number[], scale = 1, digits = 3) => {
  const m = meanStd(xs);
  return `${(scale * m.mean).toFixed(digits)} ± ${(scale * m.std).toFixed(digits)}`;
};
