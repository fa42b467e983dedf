/**
 * Exponential moving average with TensorBoard's debiasing (scalars dashboard): s_t = w·s_{t−1} + (1−w)·x_t,
 * divided by 1 − w^t so the first points are not pulled towards 0. w = 0 leaves the series as it is.
 */
export function smoothSeries(values: readonly number[], weight: number): number[] {
  if (!(weight >= 0 && weight < 1)) throw new Error(`smoothing weight must be in [0, 1), got ${weight}`);
  let last = 0;
  let n = 0;
  return values.map((x) => {
    if (!Number.isFinite(x)) return x;
    last = last * weight + (1 - weight) * x;
    n++;
    return weight === 0 ? x : last / (1 - weight ** n);
  });
}

/**
 * Tick values for a log axis that spans less than a decade (Plot's log ticks then label nothing): five
 * evenly spaced round numbers between the data's min and max, so every tick has a label.
 */
export function logTicks(min: number, max: number, count = 5): number[] {
  if (!(min > 0) || !(max > 0)) return [];
  if (max / min >= 10) return [];
  if (max === min) return [Number(min.toPrecision(3))];
  const step = niceStep((max - min) / count);
  const out: number[] = [];
  for (let v = Math.ceil(min / step) * step; v <= max + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out.length >= 2 ? out : [...new Set([Number(min.toPrecision(3)), Number(max.toPrecision(3))])];
}

function niceStep(raw: number): number {
  const p = 10 ** Math.floor(Math.log10(raw));
  const f = raw / p;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * p;
}
