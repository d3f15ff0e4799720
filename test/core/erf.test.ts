// erf/erfc against Python's math.erf/math.erfc (glibc), to near float64 precision.

import { describe, expect, it } from 'vitest';
import { erf, erfc } from '../../src/core/erf.js';

// [x, erf(x), erfc(x)] from Python 3 math.erf / math.erfc.
const reference: [number, number, number][] = [
  [-5, -0.9999999999984626, 1.9999999999984626],
  [-3.5, -0.9999992569016276, 1.9999992569016276],
  [-2, -0.9953222650189527, 1.9953222650189528],
  [-1, -0.8427007929497149, 1.842700792949715],
  [-0.3, -0.3286267594591274, 1.3286267594591274],
  [0, 0, 1],
  [1e-5, 1.1283791670579e-5, 0.9999887162083294],
  [0.5, 0.5204998778130465, 0.4795001221869535],
  [1, 0.8427007929497149, 0.15729920705028513],
  [2, 0.9953222650189527, 0.004677734981047265],
  [2.9, 0.9999589021219005, 4.109787809945886e-5],
  [3.1, 0.9999883513426328, 1.1648657367199589e-5],
  [4, 0.9999999845827421, 1.541725790028002e-8],
  [6, 1, 2.1519736712498916e-17],
];

describe('erf', () => {
  for (const [x, e, c] of reference) {
    it(`erf(${x}) and erfc(${x})`, () => {
      expect(Math.abs(erf(x) - e)).toBeLessThanOrEqual(2e-15 * Math.max(Math.abs(e), 1e-300));
      // Relative precision of erfc holds in the tails too (1e-12 where 1 − erf cancels most).
      expect(Math.abs(erfc(x) - c) / c).toBeLessThan(1e-12);
    });
  }

  it('is odd, bounded and NaN-transparent', () => {
    for (let x = 0; x < 10; x += 0.37) {
      expect(erf(-x)).toBe(-erf(x));
      expect(Math.abs(erf(x))).toBeLessThanOrEqual(1);
    }
    expect(erf(Infinity)).toBe(1);
    expect(erfc(Infinity)).toBe(0);
    expect(erfc(-Infinity)).toBe(2);
    expect(erf(Number.NaN)).toBeNaN();
  });
});
