// Central-difference gradient checks on float32 buffers, shared by the core's layer and loss tests.

import { expect } from 'vitest';
import { createRng, nextFloat } from '../../src/core/rng.js';

/** Uniform values in [lo, hi), from a fixed seed. */
export function randomArray(length: number, seed: number, lo = -1, hi = 1): Float32Array {
  const r = createRng(seed);
  const out = new Float32Array(length);
  for (let i = 0; i < length; i++) out[i] = lo + (hi - lo) * nextFloat(r);
  return out;
}

/**
 * ∂f/∂x[i] by central differences. The divisor is the step float32 actually took, so rounding of
 * x ± eps does not bias the estimate.
 */
export function numericGrad(f: () => number, x: Float32Array, i: number, eps: number): number {
  const orig = x[i]!;
  x[i] = orig + eps;
  const xPlus = x[i]!;
  const fPlus = f();
  x[i] = orig - eps;
  const xMinus = x[i]!;
  const fMinus = f();
  x[i] = orig;
  return (fPlus - fMinus) / (xPlus - xMinus);
}

/** Checks every entry of `analytic` against central differences of f over x. */
export function expectGradient(
  f: () => number,
  x: Float32Array,
  analytic: ArrayLike<number>,
  opts: { eps?: number; rtol?: number; atol?: number; count?: number } = {},
): void {
  const { eps = 1e-3, rtol = 2e-3, atol = 2e-4 } = opts;
  const count = opts.count ?? x.length;
  for (let i = 0; i < count; i++) {
    const numeric = numericGrad(f, x, i, eps);
    const a = analytic[i]!;
    const tol = atol + rtol * Math.max(Math.abs(a), Math.abs(numeric));
    if (!(Math.abs(a - numeric) <= tol)) {
      expect.fail(`gradient entry ${i}: analytic ${a}, numeric ${numeric} (tolerance ${tol})`);
    }
  }
}

/** Σ c_i·v_i in float64: a scalar whose gradient with respect to v is c. */
export function weightedSum(v: Float32Array, c: Float32Array, n = c.length): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += v[i]! * c[i]!;
  return s;
}
