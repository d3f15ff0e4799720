// The model: parameter naming, fused logits, determinism, whole-model gradients by central
// differences (2 hidden layers, dropout included) on every backend, and validation refusals.

import { describe, expect, it } from 'vitest';
import { CoreError } from '../../src/core/errors.js';
import { lossBackward, lossForward, outputTransform } from '../../src/core/losses.js';
import { countParams, createModel, modelBackward, modelForward, validateModel, zeroGrads, type Model } from '../../src/core/model.js';
import { createRng, rngState } from '../../src/core/rng.js';
import type { Activation, DenseLayerConfig, Init, LayerConfig, LossConfig } from '../../src/core/types.js';
import { forEachBackend } from './backends.js';
import { expectGradient, randomArray } from './gradcheck.js';

function dense(units: number, activation: Activation, extra: Partial<DenseLayerConfig> = {}): DenseLayerConfig {
  return { type: 'dense', units, activation, init: 'xavier_uniform', useBias: true, biasInit: { type: 'uniform', limit: 0.1 }, ...extra };
}

const B = 6;
const I = 3;

/** The mean loss of one training forward pass, with dropout masks drawn from a fixed seed. */
function lossOf(m: Model, X: Float32Array, y: Float32Array, targetWidth: number): number {
  const out = modelForward(m, X, B, true, createRng(99));
  return lossForward(m.loss, out, y, B, m.outputWidth, targetWidth);
}

function checkModelGradients(m: Model, y: Float32Array, targetWidth: number): void {
  const X = randomArray(B * I, 21, -1.5, 1.5);
  const out = modelForward(m, X, B, true, createRng(99));
  const dOut = new Float32Array(B * m.outputWidth);
  lossBackward(m.loss, out, y, dOut, B, m.outputWidth, targetWidth);
  zeroGrads(m);
  modelBackward(m, dOut, B);
  for (const p of m.params) {
    expect(p.grad.some((g) => g !== 0)).toBe(true);
    expectGradient(() => lossOf(m, X, y, targetWidth), p.data, p.grad, { eps: 1e-3, rtol: 1e-2, atol: 2e-4 });
  }
}

const cases: { name: string; layers: LayerConfig[]; loss: LossConfig; y: Float32Array; targetWidth: number }[] = [
  {
    name: 'tanh → dropout → gelu → softmax, softmax CE with labels',
    layers: [dense(5, 'tanh'), { type: 'dropout', rate: 0.3 }, dense(4, 'gelu'), dense(3, 'softmax')],
    loss: { type: 'softmax_cross_entropy' },
    y: Float32Array.from([0, 1, 2, 2, 1, 0]),
    targetWidth: 1,
  },
  {
    name: 'elu → sigmoid → linear, softmax CE with distributions',
    layers: [dense(5, 'elu', { alpha: 0.5 }), dense(4, 'sigmoid', { useBias: false }), dense(3, 'linear')],
    loss: { type: 'softmax_cross_entropy' },
    y: randomArray(B * 3, 22, 0, 1).map((v, i, a) => {
      const r = Math.floor(i / 3) * 3;
      return v / (a[r]! + a[r + 1]! + a[r + 2]!);
    }),
    targetWidth: 3,
  },
  {
    name: 'leaky_relu → tanh → sigmoid, binary CE',
    layers: [dense(6, 'leaky_relu', { init: 'he_normal' }), dense(4, 'tanh'), dense(2, 'sigmoid')],
    loss: { type: 'binary_cross_entropy' },
    y: Float32Array.from([0, 1, 1, 1, 0, 0, 1, 0, 0, 1, 1, 0]),
    targetWidth: 2,
  },
  {
    name: 'relu → dropout → tanh → softmax (not fused), mse',
    layers: [dense(6, 'relu', { init: 'he_uniform' }), { type: 'dropout', rate: 0.5 }, dense(4, 'tanh'), dense(3, 'softmax')],
    loss: { type: 'mse' },
    y: randomArray(B * 3, 23, 0, 1),
    targetWidth: 3,
  },
  {
    name: 'gelu → elu → linear, huber',
    layers: [dense(5, 'gelu', { init: 'lecun_normal' }), dense(4, 'elu'), dense(2, 'linear')],
    loss: { type: 'huber', delta: 0.5 },
    y: randomArray(B * 2, 24, -2, 2),
    targetWidth: 2,
  },
];

for (const k of forEachBackend()) {
  describe(`model gradients (${k.name})`, () => {
    for (const c of cases) {
      it(`${c.name}: every parameter's gradient matches central differences`, () => {
        const m = createModel(c.layers, I, c.loss, createRng(7), k, B);
        checkModelGradients(m, c.y, c.targetWidth);
      });
    }
  });
}

describe('model', () => {
  const k = forEachBackend()[0]!;
  const layers: LayerConfig[] = [dense(4, 'relu'), { type: 'dropout', rate: 0.2 }, dense(3, 'softmax', { useBias: false })];
  const ce: LossConfig = { type: 'softmax_cross_entropy' };

  it('names parameters layers.{i}.weight|bias with dropout counted, weights [O, I]', () => {
    const m = createModel(layers, 5, ce, createRng(1), k, 8);
    expect(m.params.map((p) => [p.name, p.shape, p.isWeight, p.data.length, p.grad.length])).toEqual([
      ['layers.0.weight', [4, 5], true, 20, 20],
      ['layers.0.bias', [4], false, 4, 4],
      ['layers.2.weight', [3, 4], true, 12, 12],
    ]);
    expect(m.outputWidth).toBe(3);
    expect(countParams(layers, 5)).toBe(36);
  });

  it('initializes biases to zero by default config and draws weights deterministically from the seed', () => {
    const zeroBias: LayerConfig[] = [{ ...dense(4, 'relu'), biasInit: 'zeros' }, dense(2, 'linear')];
    const a = createModel(zeroBias, 3, { type: 'mse' }, createRng(5), k, 2);
    const b = createModel(zeroBias, 3, { type: 'mse' }, createRng(5), k, 2);
    const c = createModel(zeroBias, 3, { type: 'mse' }, createRng(6), k, 2);
    expect(a.params.map((p) => Array.from(p.data))).toEqual(b.params.map((p) => Array.from(p.data)));
    expect(Array.from(a.params[0]!.data)).not.toEqual(Array.from(c.params[0]!.data));
    expect(Array.from(a.params[1]!.data)).toEqual([0, 0, 0, 0]);
  });

  it('returns logits when the loss fuses softmax, the same for a softmax or linear output layer', () => {
    const X = randomArray(4 * 5, 2);
    const withSoftmax = createModel(layers, 5, ce, createRng(3), k, 4);
    const withLinear = createModel([layers[0]!, layers[1]!, dense(3, 'linear', { useBias: false })], 5, ce, createRng(3), k, 4);
    const r = createRng(0);
    const a = Array.from(modelForward(withSoftmax, X, 4, false, r).subarray(0, 12));
    const b = Array.from(modelForward(withLinear, X, 4, false, r).subarray(0, 12));
    expect(a).toEqual(b);
    // Logits, not probabilities: rows do not sum to 1, but their softmax does.
    expect(Math.abs(a[0]! + a[1]! + a[2]! - 1)).toBeGreaterThan(1e-3);
    const p = new Float32Array(12);
    outputTransform(ce, Float32Array.from(a), p, 4, 3);
    expect(p[0]! + p[1]! + p[2]!).toBeCloseTo(1, 6);
    // The hand-computed logits of row 0: relu(X·W0ᵀ + b0)·W2ᵀ.
    const [W0, b0, W2] = withSoftmax.params.map((q) => q.data) as [Float32Array, Float32Array, Float32Array];
    const h = [0, 1, 2, 3].map((o) => Math.max(0, b0[o]! + [0, 1, 2, 3, 4].reduce((s, i) => s + X[i]! * W0[o * 5 + i]!, 0)));
    for (let o = 0; o < 3; o++) {
      expect(a[o]).toBeCloseTo(h.reduce((s, v, i) => s + v * W2[o * 4 + i]!, 0), 5);
    }
  });

  it('applies a non-fused output activation in forward', () => {
    const m = createModel([dense(4, 'tanh'), dense(2, 'sigmoid')], 3, { type: 'mse' }, createRng(3), k, 4);
    const out = modelForward(m, randomArray(12, 4), 4, false, createRng(0));
    for (let i = 0; i < 8; i++) expect(out[i]! > 0 && out[i]! < 1).toBe(true);
  });

  it('reuses its buffers, leaves the RNG alone at evaluation, and advances it in training', () => {
    const m = createModel(layers, 5, ce, createRng(3), k, 4);
    const X = randomArray(20, 5);
    const r = createRng(8);
    const before = rngState(r);
    const first = modelForward(m, X, 4, false, r);
    const firstValues = Array.from(first.subarray(0, 12));
    const second = modelForward(m, X, 2, false, r);
    expect(second).toBe(first);
    expect(Array.from(second.subarray(0, 6))).toEqual(firstValues.slice(0, 6));
    expect(rngState(r)).toEqual(before);
    modelForward(m, X, 4, true, r);
    expect(rngState(r)).not.toEqual(before);
  });

  it('sets the gradients: what they held before (NaN here) is overwritten, the same bits every time', () => {
    const m = createModel(layers, 5, ce, createRng(3), k, 4);
    const X = randomArray(20, 6);
    const y = Float32Array.from([0, 1, 2, 1]);
    const out = modelForward(m, X, 4, false, createRng(0));
    const dOut = new Float32Array(12);
    lossBackward(ce, out, y, dOut, 4, 3, 1);
    for (const p of m.params) p.grad.fill(Number.NaN);
    modelBackward(m, dOut, 4);
    const once = m.params.map((p) => Array.from(p.grad));
    for (const g of once) expect(g.every(Number.isFinite)).toBe(true);
    expect(once.some((g) => g.some((v) => v !== 0))).toBe(true);
    modelBackward(m, dOut, 4);
    m.params.forEach((p, j) => expect(Array.from(p.grad)).toEqual(once[j]));
    zeroGrads(m);
    for (const p of m.params) expect(p.grad.every((g) => g === 0)).toBe(true);
  });

  it('refuses a batch larger than maxBatch', () => {
    const m = createModel(layers, 5, ce, createRng(3), k, 4);
    expect(() => modelForward(m, new Float32Array(25), 5, false, createRng(0))).toThrow(CoreError);
    expect(() => createModel(layers, 5, ce, createRng(3), k, 0)).toThrow(CoreError);
  });
});

describe('validateModel', () => {
  const ce: LossConfig = { type: 'softmax_cross_entropy' };
  const refusals: { name: string; layers: LayerConfig[]; loss?: LossConfig; inputWidth?: number; path: string; message: RegExp }[] = [
    { name: 'a layer of 0 units', layers: [dense(0, 'relu'), dense(2, 'softmax')], path: 'layers.0.units', message: /positive integer, got 0/ },
    { name: 'fractional units', layers: [dense(2.5, 'relu'), dense(2, 'softmax')], path: 'layers.0.units', message: /got 2.5/ },
    { name: 'softmax CE on one output unit', layers: [dense(4, 'relu'), dense(1, 'linear')], path: 'loss', message: /at least 2 units.*binary_cross_entropy/ },
    { name: 'softmax on a hidden layer', layers: [dense(4, 'softmax'), dense(2, 'softmax')], path: 'layers.0.activation', message: /only.*output layer/ },
    { name: 'softmax on one unit', layers: [dense(4, 'relu'), dense(1, 'softmax')], loss: { type: 'mse' }, path: 'layers.1.activation', message: /always outputs 1/ },
    { name: 'softmax CE after a relu output', layers: [dense(4, 'relu'), dense(3, 'relu')], path: 'layers.1.activation', message: /'softmax' or 'linear'/ },
    { name: 'BCE after a softmax output', layers: [dense(4, 'relu'), dense(3, 'softmax')], loss: { type: 'binary_cross_entropy' }, path: 'layers.1.activation', message: /'sigmoid' or 'linear'/ },
    { name: 'dropout rate 1', layers: [dense(4, 'relu'), { type: 'dropout', rate: 1 }, dense(2, 'linear')], path: 'layers.1.rate', message: /\[0, 1\)/ },
    { name: 'negative dropout rate', layers: [dense(4, 'relu'), { type: 'dropout', rate: -0.1 }, dense(2, 'linear')], path: 'layers.1.rate', message: /\[0, 1\)/ },
    { name: 'dropout as the last layer', layers: [dense(4, 'relu'), { type: 'dropout', rate: 0.5 }], path: 'layers.1.type', message: /last layer must be dense/ },
    { name: 'no layers', layers: [], path: 'layers', message: /at least one/ },
    { name: 'zero weights', layers: [dense(4, 'relu', { init: 'zeros' }), dense(2, 'linear')], path: 'layers.0.init', message: /same gradient/ },
    {
      name: 'constant weights',
      layers: [dense(4, 'relu'), dense(2, 'linear', { init: { type: 'constant', value: 0.1 } as Init })],
      path: 'layers.1.init',
      message: /same gradient/,
    },
    { name: 'huber delta 0', layers: [dense(2, 'linear')], loss: { type: 'huber', delta: 0 }, path: 'loss.delta', message: /> 0, got 0/ },
    { name: 'unknown activation', layers: [dense(2, 'swish' as Activation)], loss: { type: 'mse' }, path: 'layers.0.activation', message: /unknown activation 'swish'/ },
    { name: 'negative alpha', layers: [dense(2, 'elu', { alpha: -1 })], loss: { type: 'mse' }, path: 'layers.0.alpha', message: />= 0/ },
    { name: 'zero input width', layers: [dense(2, 'linear')], loss: { type: 'mse' }, inputWidth: 0, path: 'dataset', message: /input width/ },
  ];
  for (const r of refusals) {
    it(`refuses ${r.name} at ${r.path}`, () => {
      let error: unknown;
      try {
        validateModel(r.layers, r.inputWidth ?? 3, r.loss ?? ce);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(CoreError);
      expect((error as CoreError).path).toBe(r.path);
      expect((error as CoreError).message).toMatch(r.message);
    });
  }

  it('accepts zero biases, a linear output for BCE and a sigmoid output for mse', () => {
    expect(() => validateModel([{ ...dense(4, 'relu'), biasInit: 'zeros' }, dense(1, 'linear')], 3, { type: 'binary_cross_entropy' })).not.toThrow();
    expect(() => validateModel([dense(4, 'relu'), dense(2, 'sigmoid')], 3, { type: 'mse' })).not.toThrow();
  });
});
