// Activations: reference values, stability at extremes, and gradients by central differences.

import { describe, expect, it } from 'vitest';
import { activationBackward, activationForward, defaultAlpha } from '../../src/core/activations.js';
import type { Activation } from '../../src/core/types.js';
import { expectGradient, randomArray, weightedSum } from './gradcheck.js';

const rows = 4;
const cols = 5;
const kinds: Activation[] = ['linear', 'relu', 'leaky_relu', 'elu', 'sigmoid', 'tanh', 'gelu', 'softmax'];

function forward(kind: Activation, z: number[], alpha?: number): number[] {
  const Z = Float32Array.from(z);
  const A = new Float32Array(z.length);
  activationForward(kind, Z, A, 1, z.length, alpha);
  return Array.from(A);
}

describe('activations', () => {
  it('compute the reference values', () => {
    expect(forward('relu', [-2, 0, 3])).toEqual([0, 0, 3]);
    expect(forward('leaky_relu', [-2, 3])).toEqual([Math.fround(-0.02), 3]);
    expect(forward('leaky_relu', [-2], 0.2)[0]).toBeCloseTo(-0.4, 6);
    expect(forward('elu', [-1, 2])[0]).toBeCloseTo(Math.exp(-1) - 1, 6);
    expect(forward('sigmoid', [0, 2])[1]).toBeCloseTo(1 / (1 + Math.exp(-2)), 7);
    expect(forward('tanh', [0.5])[0]).toBeCloseTo(Math.tanh(0.5), 7);
    // Exact GELU (PyTorch's nn.GELU() default), values from 0.5·z·erfc(−z/√2) in Python.
    const gelu = forward('gelu', [-6, -3, -1, -0.5, 0, 0.5, 1, 3]);
    const want = [
      -5.919525870226207e-9, -0.004049694094890287, -0.15865525393145707, -0.15426876936299344, 0, 0.34573123063700656,
      0.8413447460685429, 2.99595030590511,
    ];
    gelu.forEach((g, i) => expect(Math.abs(g - want[i]!)).toBeLessThanOrEqual(Math.abs(want[i]!) * 1e-7));
    const s = forward('softmax', [1, 2, 3]);
    const e = [Math.exp(1), Math.exp(2), Math.exp(3)];
    const total = e[0]! + e[1]! + e[2]!;
    s.forEach((p, i) => expect(p).toBeCloseTo(e[i]! / total, 7));
    expect(defaultAlpha('leaky_relu')).toBe(0.01);
    expect(defaultAlpha('elu')).toBe(1);
  });

  it('stay finite at extreme inputs (stable sigmoid and softmax)', () => {
    expect(forward('sigmoid', [-1000, 1000])).toEqual([0, 1]);
    const s = forward('softmax', [1000, 1000, -1000]);
    expect(s).toEqual([0.5, 0.5, 0]);
    expect(forward('gelu', [-40, 40])).toEqual([-0, 40]);
    expect(forward('elu', [-1000])).toEqual([-1]);
  });

  it('softmax rows sum to 1 row by row', () => {
    const Z = randomArray(rows * cols, 11, -5, 5);
    const A = new Float32Array(rows * cols);
    activationForward('softmax', Z, A, rows, cols);
    for (let r = 0; r < rows; r++) {
      let sum = 0;
      for (let j = 0; j < cols; j++) sum += A[r * cols + j]!;
      expect(sum).toBeCloseTo(1, 6);
    }
  });

  for (const kind of kinds) {
    for (const alpha of kind === 'leaky_relu' || kind === 'elu' ? [undefined, 0.3] : [undefined]) {
      it(`${kind}${alpha === undefined ? '' : ` (alpha ${alpha})`}: backward matches central differences`, () => {
        const n = rows * cols;
        const Z = randomArray(n, 1, -3, 3);
        // Keep clear of the kinks at 0 so the differences never straddle one.
        for (let i = 0; i < n; i++) if (Math.abs(Z[i]!) < 0.05) Z[i] = 0.5;
        const c = randomArray(n, 2);
        const A = new Float32Array(n);
        const f = (): number => {
          activationForward(kind, Z, A, rows, cols, alpha);
          return weightedSum(A, c);
        };
        f();
        const dZ = new Float32Array(n);
        activationBackward(kind, Z, A, c, dZ, rows, cols, alpha);
        expectGradient(f, Z, dZ);
      });
    }
  }

  it('backward may write dZ over dA', () => {
    const n = rows * cols;
    const Z = randomArray(n, 3, -2, 2);
    const A = new Float32Array(n);
    for (const kind of kinds) {
      activationForward(kind, Z, A, rows, cols);
      const dA = randomArray(n, 4);
      const separate = new Float32Array(n);
      activationBackward(kind, Z, A, dA, separate, rows, cols);
      activationBackward(kind, Z, A, dA, dA, rows, cols);
      expect(Array.from(dA)).toEqual(Array.from(separate));
    }
  });
});
