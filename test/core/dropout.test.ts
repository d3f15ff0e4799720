// Inverted dropout: scaling, mask statistics, identity at evaluation, determinism and its gradient.

import { describe, expect, it } from 'vitest';
import { dropoutBackward, dropoutForward } from '../../src/core/dropout.js';
import { createRng, rngState } from '../../src/core/rng.js';
import { expectGradient, randomArray, weightedSum } from './gradcheck.js';

describe('dropout', () => {
  it('zeros about `rate` of the entries and scales the rest by 1/(1 − rate)', () => {
    const n = 100_000;
    const rate = 0.3;
    const X = new Float32Array(n).fill(1);
    const Y = new Float32Array(n);
    const mask = new Float32Array(n);
    dropoutForward(X, Y, mask, n, rate, createRng(1), true);
    let zeros = 0;
    let unscaled = 0;
    let sum = 0;
    for (let i = 0; i < n; i++) {
      if (Y[i] === 0) zeros++;
      else if (Y[i] !== Math.fround(1 / 0.7)) unscaled++;
      sum += Y[i]!;
    }
    expect(unscaled).toBe(0);
    expect(Math.abs(zeros / n - rate)).toBeLessThan(0.01);
    // Inverted dropout keeps the expected activation.
    expect(sum / n).toBeCloseTo(1, 1);
  });

  it('is the identity at evaluation and then leaves the RNG untouched', () => {
    const X = randomArray(50, 2);
    const Y = new Float32Array(50);
    const mask = new Float32Array(50);
    const r = createRng(3);
    const before = rngState(r);
    dropoutForward(X, Y, mask, 50, 0.5, r, false);
    expect(Array.from(Y)).toEqual(Array.from(X));
    expect(rngState(r)).toEqual(before);
    const dY = randomArray(50, 4);
    const dX = new Float32Array(50);
    dropoutBackward(dY, mask, dX, 50);
    expect(Array.from(dX)).toEqual(Array.from(dY));
  });

  it('draws the same mask from the same seed', () => {
    const X = randomArray(64, 5);
    const a = new Float32Array(64);
    const b = new Float32Array(64);
    const m = new Float32Array(64);
    dropoutForward(X, a, m, 64, 0.5, createRng(9), true);
    dropoutForward(X, b, m, 64, 0.5, createRng(9), true);
    expect(Array.from(a)).toEqual(Array.from(b));
    dropoutForward(X, b, m, 64, 0.5, createRng(10), true);
    expect(Array.from(a)).not.toEqual(Array.from(b));
  });

  it('backward matches central differences for a fixed mask', () => {
    const n = 40;
    const X = randomArray(n, 6);
    const c = randomArray(n, 7);
    const Y = new Float32Array(n);
    const mask = new Float32Array(n);
    // Same seed on every evaluation, so the mask is fixed while X is perturbed.
    const f = (): number => {
      dropoutForward(X, Y, mask, n, 0.4, createRng(11), true);
      return weightedSum(Y, c);
    };
    f();
    const dX = new Float32Array(n);
    dropoutBackward(c, mask, dX, n);
    expect(dX.some((v) => v === 0)).toBe(true);
    expectGradient(f, X, dX);
  });
});
