/**
 * Seeded PRNG (sfc32, Chris Doty-Humphrey's Small Fast Counting generator) with a four-word state that
 * can be saved in a checkpoint and restored exactly.
 *
 * Every draw uses only 32-bit integer arithmetic and exact float operations, so a seed gives the same stream in
 * every JS engine. The one exception is `normal()`, which needs Math.log/cos. V8 (Node and Chromium) and
 * SpiderMonkey both use fdlibm ports for these, but the ECMAScript spec does not require correct rounding.
 */

/** The generator state: four uint32 words (a, b, c, counter). */
export type RngState = [number, number, number, number];

const TWO_POW_32 = 4294967296;
const TWO_POW_53 = 9007199254740992;

/** splitmix32: spreads one 32-bit seed over the state words (so seeds 1 and 2 give unrelated streams). */
function splitmix32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/** cyrb128-style string hash to four words, for string seeds and fork labels. */
function hashString(text: string, mix: RngState = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a]): RngState {
  let [h1, h2, h3, h4] = mix;
  for (let i = 0; i < text.length; i++) {
    const k = text.charCodeAt(i);
    h1 = h2 ^ Math.imul(h1 ^ k, 597399067);
    h2 = h3 ^ Math.imul(h2 ^ k, 2869860233);
    h3 = h4 ^ Math.imul(h3 ^ k, 951274213);
    h4 = h1 ^ Math.imul(h4 ^ k, 2716044179);
  }
  h1 = Math.imul(h3 ^ (h1 >>> 18), 597399067);
  h2 = Math.imul(h4 ^ (h2 >>> 22), 2869860233);
  h3 = Math.imul(h1 ^ (h3 >>> 17), 951274213);
  h4 = Math.imul(h2 ^ (h4 >>> 19), 2716044179);
  h1 ^= h2 ^ h3 ^ h4;
  h2 ^= h1;
  h3 ^= h1;
  h4 ^= h1;
  return [h1 >>> 0, h2 >>> 0, h3 >>> 0, h4 >>> 0];
}

function checkState(state: unknown): RngState {
  if (!Array.isArray(state) || state.length !== 4) {
    throw new Error(`rng state must be an array of 4 uint32 words, got ${JSON.stringify(state)}`);
  }
  state.forEach((w, i) => {
    if (!Number.isInteger(w) || w < 0 || w >= TWO_POW_32) {
      throw new Error(`rng state word ${i} must be a uint32, got ${JSON.stringify(w)}`);
    }
  });
  return [state[0], state[1], state[2], state[3]];
}

export class Rng {
  private a = 0;
  private b = 0;
  private c = 0;
  private d = 0;

  /** A number seed is taken modulo 2^32 (it must be a finite integer); a string seed is hashed. */
  constructor(seed: number | string) {
    let words: RngState;
    if (typeof seed === 'string') {
      words = hashString(seed);
    } else {
      if (!Number.isInteger(seed)) throw new Error(`rng seed must be an integer or a string, got ${seed}`);
      const next = splitmix32(seed >>> 0);
      words = [next(), next(), next(), next()];
    }
    this.setState(words);
    // The author of sfc32 recommends discarding the first outputs so that similar seeds decorrelate.
    for (let i = 0; i < 12; i++) this.nextUint32();
  }

  static fromState(state: RngState): Rng {
    const rng = new Rng(0);
    rng.setState(state);
    return rng;
  }

  getState(): RngState {
    return [this.a, this.b, this.c, this.d];
  }

  setState(state: RngState): void {
    [this.a, this.b, this.c, this.d] = checkState(state);
  }

  /** A generator whose stream depends on this one's current state and `label`; this one does not advance. */
  fork(label: string): Rng {
    return Rng.fromState(hashString(label, this.getState()));
  }

  nextUint32(): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0;
    this.d = (this.d + 1) >>> 0;
    this.a = (this.b ^ (this.b >>> 9)) >>> 0;
    this.b = (this.c + (this.c << 3)) >>> 0;
    this.c = ((this.c << 21) | (this.c >>> 11)) >>> 0;
    this.c = (this.c + t) >>> 0;
    return t;
  }

  /** Uniform in [0, 1) with 53 random bits. */
  uniform(): number {
    const hi = this.nextUint32() >>> 5; // 27 bits
    const lo = this.nextUint32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / TWO_POW_53;
  }

  /** Uniform integer in [0, n), unbiased (rejection sampling), for 1 <= n <= 2^32. */
  int(n: number): number {
    if (!Number.isInteger(n) || n < 1 || n > TWO_POW_32) {
      throw new Error(`rng.int(n) needs an integer 1 <= n <= 2^32, got ${n}`);
    }
    // Reject the top partial block of the 2^32 range so every residue is equally likely.
    const limit = TWO_POW_32 - (TWO_POW_32 % n);
    for (;;) {
      const x = this.nextUint32();
      if (x < limit) return x % n;
    }
  }

  /** Standard normal (Box–Muller; one value per call, so the state stays four words). */
  normal(mean = 0, std = 1): number {
    let u = 0;
    while (u === 0) u = this.uniform();
    const v = this.uniform();
    return mean + std * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  bernoulli(p: number): boolean {
    if (!(p >= 0 && p <= 1)) throw new Error(`rng.bernoulli(p) needs 0 <= p <= 1, got ${p}`);
    return this.uniform() < p;
  }

  /** In-place Fisher–Yates shuffle; returns the same array. */
  shuffle<T>(array: T[]): T[] {
    for (let i = array.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = array[i];
      array[i] = array[j];
      array[j] = tmp;
    }
    return array;
  }

  /** k distinct elements drawn without replacement, in random order (partial Fisher–Yates on a copy). */
  sample<T>(array: readonly T[], k: number): T[] {
    if (!Number.isInteger(k) || k < 0 || k > array.length) {
      throw new Error(`rng.sample needs an integer 0 <= k <= ${array.length}, got ${k}`);
    }
    const pool = array.slice();
    for (let i = 0; i < k; i++) {
      const j = i + this.int(pool.length - i);
      const tmp = pool[i];
      pool[i] = pool[j];
      pool[j] = tmp;
    }
    return pool.slice(0, k);
  }

  /** An index drawn with probability proportional to `weights` (they need not sum to 1). */
  choiceWeighted(weights: ArrayLike<number>): number {
    let total = 0;
    for (let i = 0; i < weights.length; i++) {
      const w = weights[i];
      if (!(w >= 0) || !Number.isFinite(w)) {
        throw new Error(`rng.choiceWeighted: weight ${i} must be a finite number >= 0, got ${w}`);
      }
      total += w;
    }
    if (!(total > 0)) throw new Error(`rng.choiceWeighted: the weights sum to ${total}; at least one must be > 0`);
    const target = this.uniform() * total;
    let acc = 0;
    let last = -1;
    for (let i = 0; i < weights.length; i++) {
      if (weights[i] === 0) continue;
      acc += weights[i];
      last = i;
      if (target < acc) return i;
    }
    // Rounding can leave target == acc at the very end; the last non-zero weight takes it.
    return last;
  }
}
