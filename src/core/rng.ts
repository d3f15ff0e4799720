// The core's one seeded PRNG: xoshiro128** seeded through splitmix32. It drives init, shuffling
// and dropout; its whole state is four uint32 words, so it round-trips through a checkpoint.

import { CoreError } from './errors.js';

export interface Rng {
  /** xoshiro128** state, 4 words, never all zero. */
  s: Uint32Array;
}

const TWO_POW_32 = 4294967296;

function splitmix32(state: number): { state: number; value: number } {
  const next = (state + 0x9e3779b9) >>> 0;
  let z = next;
  z = Math.imul(z ^ (z >>> 16), 0x21f0aaad);
  z = Math.imul(z ^ (z >>> 15), 0x735a2d97);
  z ^= z >>> 15;
  return { state: next, value: z >>> 0 };
}

/** Seeds from any safe integer; the high bits of seeds beyond 32 bits are folded in, not dropped. */
export function createRng(seed: number): Rng {
  if (!Number.isSafeInteger(seed)) {
    throw new CoreError('seed', `seed must be a safe integer, got ${seed}`);
  }
  const lo = seed >>> 0;
  const hi = Math.floor(seed / TWO_POW_32) >>> 0;
  let state = (lo ^ Math.imul(hi, 0x85ebca6b)) >>> 0;
  const s = new Uint32Array(4);
  for (let i = 0; i < 4; i++) {
    const out = splitmix32(state);
    state = out.state;
    s[i] = out.value;
  }
  // The all-zero state is xoshiro's one fixed point.
  if ((s[0]! | s[1]! | s[2]! | s[3]!) === 0) s[0] = 1;
  return { s };
}

export function nextUint32(r: Rng): number {
  const s = r.s;
  const s0 = s[0]!;
  const s1 = s[1]!;
  const s2 = s[2]!;
  const s3 = s[3]!;
  const x = Math.imul(s1, 5);
  const result = Math.imul((x << 7) | (x >>> 25), 9) >>> 0;
  const t = s1 << 9;
  const n2 = s2 ^ s0;
  const n3 = s3 ^ s1;
  s[1] = s1 ^ n2;
  s[0] = s0 ^ n3;
  s[2] = n2 ^ t;
  s[3] = (n3 << 11) | (n3 >>> 21);
  return result;
}

/** Uniform in [0, 1) with 24 random bits, so every value is exactly representable as float32. */
export function nextFloat(r: Rng): number {
  return (nextUint32(r) >>> 8) / 16777216;
}

/** Uniform in [0, 1) with 53 random bits. */
export function nextDouble(r: Rng): number {
  const hi = nextUint32(r) >>> 5;
  const lo = nextUint32(r) >>> 6;
  return (hi * 67108864 + lo) / 9007199254740992;
}

/** Standard normal by Box–Muller. The second value is discarded so the state stays just `s`. */
export function nextNormal(r: Rng): number {
  const u1 = 1 - nextDouble(r);
  const u2 = nextDouble(r);
  return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
}

/** Uniform integer in [0, n) without modulo bias (rejection sampling), for 1 <= n <= 2^32. */
export function nextBelow(r: Rng, n: number): number {
  const limit = TWO_POW_32 - (TWO_POW_32 % n);
  for (;;) {
    const v = nextUint32(r);
    if (v < limit) return v % n;
  }
}

/** Fisher–Yates shuffle. */
export function shuffleInPlace(r: Rng, a: Int32Array): void {
  for (let i = a.length - 1; i > 0; i--) {
    const j = nextBelow(r, i + 1);
    const t = a[i]!;
    a[i] = a[j]!;
    a[j] = t;
  }
}

export function rngState(r: Rng): number[] {
  return Array.from(r.s);
}

export function restoreRng(state: number[]): Rng {
  const ok =
    state.length === 4 && state.every((w) => Number.isInteger(w) && w >= 0 && w < TWO_POW_32) && state.some((w) => w !== 0);
  if (!ok) {
    throw new CoreError('rng', `RNG state must be 4 uint32 words, not all zero, got [${state.join(', ')}]`);
  }
  return { s: Uint32Array.from(state) };
}
