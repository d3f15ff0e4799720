// The seeded PRNG: reference values, determinism, state round-trip, ranges and shuffling.

import { describe, expect, it } from 'vitest';
import { CoreError } from '../../src/core/errors.js';
import {
  createRng,
  nextBelow,
  nextFloat,
  nextNormal,
  nextUint32,
  restoreRng,
  rngState,
  shuffleInPlace,
  type Rng,
} from '../../src/core/rng.js';

function take(r: Rng, n: number): number[] {
  return Array.from({ length: n }, () => nextUint32(r));
}

describe('rng', () => {
  it('matches the xoshiro128** reference output for state [1, 2, 3, 4]', () => {
    // First outputs of the reference C implementation (prng.di.unimi.it) from s = {1, 2, 3, 4}.
    const r: Rng = { s: Uint32Array.from([1, 2, 3, 4]) };
    expect(take(r, 6)).toEqual([11520, 0, 5927040, 70819200, 2031721883, 1637235492]);
  });

  it('gives the same sequence for the same seed and a different one for another seed', () => {
    expect(take(createRng(42), 100)).toEqual(take(createRng(42), 100));
    expect(take(createRng(42), 100)).not.toEqual(take(createRng(43), 100));
    expect(take(createRng(0), 10)).not.toEqual(take(createRng(2 ** 32), 10));
  });

  it('round-trips its state', () => {
    const r = createRng(7);
    take(r, 37);
    const saved = rngState(r);
    expect(saved).toHaveLength(4);
    const expected = take(r, 50);
    const restored = restoreRng(JSON.parse(JSON.stringify(saved)) as number[]);
    expect(take(restored, 50)).toEqual(expected);
  });

  it('refuses a malformed state and a non-integer seed', () => {
    expect(() => restoreRng([0, 0, 0, 0])).toThrow(CoreError);
    expect(() => restoreRng([1, 2, 3])).toThrow(CoreError);
    expect(() => restoreRng([1, 2, 3, 2 ** 32])).toThrow(CoreError);
    expect(() => createRng(1.5)).toThrow(CoreError);
  });

  it('draws floats in [0, 1) with mean 1/2 and normals with mean 0, std 1', () => {
    const r = createRng(1);
    const n = 200_000;
    let sum = 0;
    let min = 1;
    let max = 0;
    for (let i = 0; i < n; i++) {
      const u = nextFloat(r);
      sum += u;
      min = Math.min(min, u);
      max = Math.max(max, u);
    }
    expect(min).toBeGreaterThanOrEqual(0);
    expect(max).toBeLessThan(1);
    expect(sum / n).toBeCloseTo(0.5, 2);
    let s1 = 0;
    let s2 = 0;
    for (let i = 0; i < n; i++) {
      const z = nextNormal(r);
      s1 += z;
      s2 += z * z;
    }
    expect(Math.abs(s1 / n)).toBeLessThan(0.01);
    expect(Math.sqrt(s2 / n - (s1 / n) ** 2)).toBeCloseTo(1, 2);
  });

  it('draws bounded integers uniformly', () => {
    const r = createRng(3);
    const counts = new Array<number>(6).fill(0);
    for (let i = 0; i < 60_000; i++) counts[nextBelow(r, 6)]!++;
    for (const c of counts) expect(Math.abs(c - 10_000)).toBeLessThan(400);
  });

  it('shuffles into a permutation, deterministically', () => {
    const a = Int32Array.from({ length: 100 }, (_, i) => i);
    const b = a.slice();
    shuffleInPlace(createRng(5), a);
    shuffleInPlace(createRng(5), b);
    expect(Array.from(a)).toEqual(Array.from(b));
    expect(Array.from(a)).not.toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(Array.from(a).sort((x, y) => x - y)).toEqual(Array.from({ length: 100 }, (_, i) => i));
  });
});
