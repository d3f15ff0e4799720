// L1/L2 penalties touch weights only; clipping leaves small gradients alone; argument checks.
// The values themselves are compared with PyTorch in pytorch-parity-optim.test.ts.

import { describe, expect, it } from 'vitest';
import { applyRegularization, clipByGlobalNorm, regularizationPenalty, validateRegularization } from '../../src/core/regularization.js';

function params() {
  return [
    { name: 'layers.0.weight', shape: [2], isWeight: true, data: Float32Array.of(3, -4), grad: Float32Array.of(0.5, 0.5) },
    { name: 'layers.0.bias', shape: [2], isWeight: false, data: Float32Array.of(10, -10), grad: Float32Array.of(1, 2) },
  ];
}

describe('applyRegularization', () => {
  it('penalizes weights, never biases', () => {
    const ps = params();
    const penalty = applyRegularization(ps, 0.1, 0.01);
    expect(penalty).toBeCloseTo(0.01 * 25 + 0.1 * 7, 12);
    expect([...ps[0]!.grad]).toEqual([Math.fround(0.5 + 0.06 + 0.1), Math.fround(0.5 - 0.08 - 0.1)]);
    expect([...ps[1]!.grad]).toEqual([1, 2]);
  });

  it('adds nothing when both coefficients are 0', () => {
    const ps = params();
    expect(applyRegularization(ps, 0, 0)).toBe(0);
    expect([...ps[0]!.grad]).toEqual([0.5, 0.5]);
  });
});

describe('clipByGlobalNorm', () => {
  it('returns the norm over all params and scales only when it exceeds maxNorm', () => {
    const ps = params();
    ps[0]!.grad.set([1, 2]);
    ps[1]!.grad.set([2, 4]);
    // ‖(1, 2, 2, 4)‖ = 5
    expect(clipByGlobalNorm(ps, 10)).toBeCloseTo(5, 12);
    expect([...ps[1]!.grad]).toEqual([2, 4]);
    expect(clipByGlobalNorm(ps, 1.25)).toBeCloseTo(5, 12);
    const after = Math.hypot(...ps.flatMap((p) => [...p.grad]));
    expect(after).toBeCloseTo(1.25, 5);
  });

  it('leaves non-finite gradients for the caller to see', () => {
    const ps = params();
    ps[0]!.grad[0] = Number.NaN;
    expect(clipByGlobalNorm(ps, 1)).toBeNaN();
    expect([...ps[1]!.grad]).toEqual([1, 2]);
  });
});

describe('validateRegularization', () => {
  it('refuses negative coefficients and a non-positive clipNorm, naming the field', () => {
    expect(() => validateRegularization({ l1: 0, l2: -1e-4 }, null)).toThrow(
      expect.objectContaining({ path: 'regularization.l2', message: 'l2 must be >= 0, got -0.0001' }),
    );
    expect(() => validateRegularization({ l1: Number.NaN, l2: 0 }, null)).toThrow(
      expect.objectContaining({ path: 'regularization.l1' }),
    );
    expect(() => validateRegularization({ l1: 0, l2: 0 }, 0)).toThrow(
      expect.objectContaining({ path: 'clipNorm', message: 'clipNorm must be > 0, got 0' }),
    );
    expect(() => validateRegularization({ l1: 1e-5, l2: 1e-4 }, 1)).not.toThrow();
  });
});

describe('regularizationPenalty', () => {
  it('equals the penalty applyRegularization returns, without touching grads', () => {
    const ps = params();
    expect(regularizationPenalty(ps, 0.1, 0.01)).toBe(applyRegularization(params(), 0.1, 0.01));
    expect([...ps[0]!.grad]).toEqual([0.5, 0.5]);
    expect(regularizationPenalty(ps, 0, 0)).toBe(0);
  });
});
