import { describe, expect, it } from 'vitest';
import { ETA_ESTIMATING, formatDuration, formatEta } from '../../src/engine/runtime/formatDuration.ts';

describe('formatDuration (the one duration/ETA format of the CLI and the page)', () => {
  it('writes seconds, minutes and hours with zero-padded smaller units', () => {
    expect(formatDuration(0)).toBe('0 s');
    expect(formatDuration(0.4)).toBe('0 s');
    expect(formatDuration(45.2)).toBe('45 s');
    expect(formatDuration(65)).toBe('1 min 05 s');
    expect(formatDuration(1330)).toBe('22 min 10 s');
    expect(formatDuration(3600)).toBe('1 h 00 min');
    expect(formatDuration(3725)).toBe('1 h 02 min');
    expect(formatDuration(90_000)).toBe('25 h 00 min');
  });

  it('rounds before splitting, so a carry never reads "60 s" or "60 min"', () => {
    expect(formatDuration(59.6)).toBe('1 min 00 s');
    expect(formatDuration(119.6)).toBe('2 min 00 s');
    expect(formatDuration(179.5)).toBe('3 min 00 s');
    expect(formatDuration(3599.6)).toBe('1 h 00 min');
    expect(formatDuration(7199)).toBe('2 h 00 min');
    for (let s = 0; s < 4 * 3600; s += 0.7) expect(formatDuration(s)).not.toMatch(/\b60 (s|min)/);
  });

  it('rejects what is not a duration', () => {
    expect(() => formatDuration(Number.NaN)).toThrow('formatDuration: expected a finite duration ≥ 0, got NaN');
    expect(() => formatDuration(-1)).toThrow('formatDuration: expected a finite duration ≥ 0, got -1');
    expect(() => formatDuration(Infinity)).toThrow('formatDuration: expected a finite duration ≥ 0, got Infinity');
  });
});

describe('formatEta', () => {
  it('says "estimating…" until a rate has been measured, never "0 s" at step 0', () => {
    expect(ETA_ESTIMATING).toBe('estimating…');
    expect(formatEta(0, false)).toBe('estimating…');
    expect(formatEta(null)).toBe('estimating…');
    expect(formatEta(undefined)).toBe('estimating…');
    expect(formatEta(Number.NaN)).toBe('estimating…');
    expect(formatEta(Infinity)).toBe('estimating…');
    expect(formatEta(-3)).toBe('estimating…');
  });

  it('formats a measured estimate as a duration', () => {
    expect(formatEta(0)).toBe('0 s');
    expect(formatEta(119.7, true)).toBe('2 min 00 s');
    expect(formatEta(1330.4)).toBe('22 min 10 s');
  });
});
