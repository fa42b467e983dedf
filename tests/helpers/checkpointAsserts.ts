import { expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fixtureModelDir, type FixtureName } from './shared.ts';

/** Helpers of the checkpoint tests (loading, safetensors, half floats, sources): file bytes and exact errors. */
export const readFixtureFile = (name: FixtureName, file: string) => new Uint8Array(readFileSync(join(fixtureModelDir(name), file)));
export const textOf = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
export const bitsOf = (a: Float32Array) => new Uint32Array(a.buffer, a.byteOffset, a.length);
/** Index of the first float whose bits differ (-1: identical). Not toEqual: that takes seconds on 4 M values. */
export function firstBitDifference(a: Float32Array, b: Float32Array): number {
  const x = bitsOf(a);
  const y = bitsOf(b);
  if (x.length !== y.length) return Math.min(x.length, y.length);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return i;
  return -1;
}

/** Exact message, not a substring. */
export function expectThrows(fn: () => unknown, message: string) {
  expect(fn).toThrow(message);
  try {
    fn();
  } catch (e) {
    expect((e as Error).message).toBe(message);
  }
}

export async function expectRejects(p: Promise<unknown>, message: string) {
  await expect(p).rejects.toThrow(message);
  await p.catch((e: Error) => expect(e.message).toBe(message));
}
