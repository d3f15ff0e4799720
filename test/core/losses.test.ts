// Losses: values against hand-computed references, stability on extreme logits, PyTorch's 'mean'
// reduction, and exact gradients by central differences (both label forms for softmax CE).

import { describe, expect, it } from 'vitest';
import { CoreError } from '../../src/core/errors.js';
import { lossAndOutputs, lossBackward, lossForward, outputTransform } from '../../src/core/losses.js';
import type { LossConfig } from '../../src/core/types.js';
import { expectGradient, randomArray } from './gradcheck.js';

const B = 4;
const O = 3;
const ce: LossConfig = { type: 'softmax_cross_entropy' };
const bce: LossConfig = { type: 'binary_cross_entropy' };

function gradOf(loss: LossConfig, out: Float32Array, y: Float32Array, targetWidth: number): Float32Array {
  const d = new Float32Array(out.length);
  lossBackward(loss, out, y, d, B, O, targetWidth);
  return d;
}

describe('loss values', () => {
  it('softmax cross-entropy with labels: log O for equal logits, mean over rows', () => {
    const out = new Float32Array(B * O);
    const y = Float32Array.from([0, 1, 2, 1]);
    expect(lossForward(ce, out, y, B, O, 1)).toBeCloseTo(Math.log(3), 6);
    const one = Float32Array.from([1, 2, 3]);
    const want = Math.log(Math.exp(1) + Math.exp(2) + Math.exp(3)) - 1;
    expect(lossForward(ce, one, Float32Array.from([0]), 1, O, 1)).toBeCloseTo(want, 6);
  });

  it('softmax cross-entropy with distributions equals labels for one-hot targets', () => {
    const out = randomArray(B * O, 1, -3, 3);
    const labels = Float32Array.from([2, 0, 1, 2]);
    const oneHot = new Float32Array(B * O);
    labels.forEach((c, r) => (oneHot[r * O + c] = 1));
    expect(lossForward(ce, out, oneHot, B, O, O)).toBeCloseTo(lossForward(ce, out, labels, B, O, 1), 6);
  });

  it('softmax cross-entropy is finite on huge logits', () => {
    const out = Float32Array.from([1e4, -1e4, 0]);
    expect(lossForward(ce, out, Float32Array.from([1]), 1, O, 1)).toBeCloseTo(2e4, 0);
    expect(lossForward(ce, out, Float32Array.from([0]), 1, O, 1)).toBe(0);
  });

  it('binary cross-entropy from logits is stable and averages over all B·O entries', () => {
    const out = Float32Array.from([1000, -1000, 0, 0]);
    const y = Float32Array.from([0, 1, 1, 0]);
    const v = lossForward(bce, out, y, 2, 2, 2);
    expect(v).toBeCloseTo((1000 + 1000 + 2 * Math.log(2)) / 4, 6);
    const small = Float32Array.from([2]);
    expect(lossForward(bce, small, Float32Array.from([1]), 1, 1, 1)).toBeCloseTo(-Math.log(1 / (1 + Math.exp(-2))), 7);
  });

  it('mse, mae and huber average over all B·O entries', () => {
    const out = Float32Array.from([1, 2, 3, 4]);
    const y = Float32Array.from([0, 2, 5, 4.5]);
    expect(lossForward({ type: 'mse' }, out, y, 2, 2, 2)).toBeCloseTo((1 + 0 + 4 + 0.25) / 4, 7);
    expect(lossForward({ type: 'mae' }, out, y, 2, 2, 2)).toBeCloseTo((1 + 0 + 2 + 0.5) / 4, 7);
    // PyTorch HuberLoss: 0.5·d² inside delta, delta·(|d| − delta/2) outside.
    expect(lossForward({ type: 'huber', delta: 1 }, out, y, 2, 2, 2)).toBeCloseTo((0.5 + 0 + 1.5 + 0.125) / 4, 7);
    expect(lossForward({ type: 'huber', delta: 3 }, out, y, 2, 2, 2)).toBeCloseTo((0.5 + 0 + 2 + 0.125) / 4, 7);
  });

  it('refuses targets of the wrong width and labels outside the classes', () => {
    const out = new Float32Array(B * O);
    expect(() => lossForward(ce, out, new Float32Array(B * 2), B, O, 2)).toThrow(CoreError);
    expect(() => lossForward({ type: 'mse' }, out, new Float32Array(B), B, O, 1)).toThrow(CoreError);
    expect(() => lossForward(ce, out, Float32Array.from([0, 1, 3, 0]), B, O, 1)).toThrow(/integer in \[0, 3\)/);
    expect(() => lossForward(ce, out, Float32Array.from([0, 1, 0.5, 0]), B, O, 1)).toThrow(CoreError);
  });
});

describe('loss gradients', () => {
  const cases: { name: string; loss: LossConfig; y: Float32Array; targetWidth: number }[] = [
    { name: 'softmax_cross_entropy, labels', loss: ce, y: Float32Array.from([2, 0, 1, 1]), targetWidth: 1 },
    {
      name: 'softmax_cross_entropy, distributions',
      loss: ce,
      y: Float32Array.from([0.2, 0.3, 0.5, 1, 0, 0, 0.1, 0.1, 0.8, 0.6, 0.4, 0]),
      targetWidth: O,
    },
    {
      // Rows not summing to 1 still get the exact gradient of −Σ y·log softmax.
      name: 'softmax_cross_entropy, unnormalized targets',
      loss: ce,
      y: Float32Array.from([0.5, 0.5, 0.5, 2, 0, 0, 0, 0, 0, 0.3, 0.3, 0.3]),
      targetWidth: O,
    },
    { name: 'binary_cross_entropy', loss: bce, y: randomArray(B * O, 3, 0, 1), targetWidth: O },
    { name: 'mse', loss: { type: 'mse' }, y: randomArray(B * O, 4, -2, 2), targetWidth: O },
    { name: 'mae', loss: { type: 'mae' }, y: randomArray(B * O, 5, -2, 2), targetWidth: O },
    { name: 'huber', loss: { type: 'huber', delta: 0.7 }, y: randomArray(B * O, 6, -2, 2), targetWidth: O },
  ];
  for (const { name, loss, y, targetWidth } of cases) {
    it(`${name}: backward matches central differences`, () => {
      const out = randomArray(B * O, 7, -3, 3);
      // Keep |out − y| away from the kinks of mae (0) and huber (±delta).
      for (let i = 0; i < out.length; i++) {
        const d = Math.abs(out[i]! - (targetWidth === O ? y[i]! : 0));
        if (d < 0.05 || Math.abs(d - 0.7) < 0.05) out[i]! += 0.2;
      }
      const d = gradOf(loss, out, y, targetWidth);
      expectGradient(() => lossForward(loss, out, y, B, O, targetWidth), out, d, { rtol: 1e-3, atol: 1e-5 });
    });
  }

  it('softmax cross-entropy gradient is (softmax − onehot)/B', () => {
    const out = randomArray(B * O, 8, -2, 2);
    const y = Float32Array.from([1, 1, 0, 2]);
    const d = gradOf(ce, out, y, 1);
    const p = new Float32Array(B * O);
    outputTransform(ce, out, p, B, O);
    for (let r = 0; r < B; r++) {
      for (let j = 0; j < O; j++) {
        expect(d[r * O + j]).toBeCloseTo((p[r * O + j]! - (y[r] === j ? 1 : 0)) / B, 7);
      }
    }
  });
});

describe('outputTransform', () => {
  it('softmax for CE, sigmoid for BCE, identity otherwise', () => {
    const out = Float32Array.from([0, Math.log(3), 5, -5, 1, 2]);
    const p = new Float32Array(6);
    outputTransform(ce, out, p, 2, 3);
    expect(p[0]! + p[1]! + p[2]!).toBeCloseTo(1, 6);
    expect(p[1]! / p[0]!).toBeCloseTo(3, 5);
    outputTransform(bce, out, p, 2, 3);
    expect(p[0]).toBe(0.5);
    expect(p[2]).toBeCloseTo(1 / (1 + Math.exp(-5)), 7);
    outputTransform({ type: 'mse' }, out, p, 2, 3);
    expect(Array.from(p)).toEqual(Array.from(out));
  });
});

describe('lossAndOutputs (the training loop\'s fused pass)', () => {
  const cases: [string, LossConfig, number][] = [
    ['softmax CE, labels', ce, 1],
    ['softmax CE, distributions', ce, O],
    ['binary CE', bce, O],
    ['mse', { type: 'mse' }, O],
    ['huber', { type: 'huber', delta: 0.5 }, O],
  ];
  for (const [name, loss, width] of cases) {
    it(`${name}: the same bits as lossForward + outputTransform, and lossBackward with its probabilities`, () => {
      const out = randomArray(B * O, 7, -4, 4);
      const y =
        width === 1
          ? Float32Array.from({ length: B }, (_, r) => r % O)
          : loss.type === 'softmax_cross_entropy'
            ? Float32Array.from({ length: B * O }, (_, i) => (i % O === 0 ? 0.5 : 0.25))
            : Float32Array.from({ length: B * O }, (_, i) => (i % 2 === 0 ? 1 : 0));
      const probsSeparate = new Float32Array(B * O);
      const expected = lossForward(loss, out, y, B, O, width);
      outputTransform(loss, out, probsSeparate, B, O);
      const probs = new Float32Array(B * O);
      expect(lossAndOutputs(loss, out, y, probs, B, O, width)).toBe(expected);
      expect(Array.from(probs)).toEqual(Array.from(probsSeparate));
      const dWith = new Float32Array(B * O);
      lossBackward(loss, out, y, dWith, B, O, width, probs);
      expect(Array.from(dWith)).toEqual(Array.from(gradOf(loss, out, y, width)));
    });
  }
});
