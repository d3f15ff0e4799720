// Forward outputs, loss values and every gradient of small MLPs against PyTorch
// (test/fixtures/model.json, written by make_fixtures.py), on every kernel backend that runs here.
// Float32 tolerances: outputs and hidden activations rtol 1e-5 / atol 1e-6; loss value rtol 1e-5 /
// atol 1e-6; dOut, dW, db and dX rtol 1e-5 / atol 1e-6. (They agree to ~1e-7 absolute; where they
// differ most, in GELU at z ≈ -3, torch's float32 1 + erf(z/√2) cancels and ours matches float64.)

import { describe, expect, it } from 'vitest';
import { activationBackward, activationForward, defaultAlpha } from '../../src/core/activations.js';
import { denseBackward, denseForward } from '../../src/core/dense.js';
import type { Kernels } from '../../src/core/kernels/kernels.js';
import { lossBackward, lossForward } from '../../src/core/losses.js';
import { createModel, lossFusesActivation, modelBackward, modelForward, zeroGrads } from '../../src/core/model.js';
import { createRng } from '../../src/core/rng.js';
import type { DenseLayerConfig, LayerConfig, LossConfig } from '../../src/core/types.js';
import { forEachBackend } from './backends.js';
import { expectClose, loadFixture } from './parity-helpers.js';

const OUT_RTOL = 1e-5;
const OUT_ATOL = 1e-6;
const LOSS_RTOL = 1e-5;
const LOSS_ATOL = 1e-6;
const GRAD_RTOL = 1e-5;
const GRAD_ATOL = 1e-6;

interface ModelFixture {
  B: number;
  inputWidth: number;
  x: number[];
  targets: Record<string, { targetWidth: number; data: number[] }>;
  cases: {
    name: string;
    layers: DenseLayerConfig[];
    params: Record<string, { shape: number[]; data: number[] }>;
    output: number[];
    hidden: number[][];
    losses: {
      loss: LossConfig;
      target: string;
      targetWidth: number;
      value: number;
      dOut: number[];
      grads: Record<string, number[]>;
      dX: number[];
    }[];
  }[];
}

const fixture = loadFixture<ModelFixture>('model.json');
const { B, inputWidth: I } = fixture;
const X = Float32Array.from(fixture.x);

/** Our model with the fixture's weights in place of its initialization. */
function buildModel(k: Kernels, layers: LayerConfig[], loss: LossConfig, params: ModelFixture['cases'][number]['params']) {
  const m = createModel(layers, I, loss, createRng(1), k, B);
  expect(m.params.map((p) => p.name).sort()).toEqual(Object.keys(params).sort());
  for (const p of m.params) {
    expect(p.shape).toEqual(params[p.name]!.shape);
    p.data.set(params[p.name]!.data);
  }
  return m;
}

/** The same network composed from the layer functions, to reach what the model keeps inside:
 *  every hidden activation, and dX (the model skips the first layer's input gradient). */
function layerByLayer(k: Kernels, c: ModelFixture['cases'][number], loss: LossConfig, y: Float32Array, T: number) {
  const fused = lossFusesActivation(loss);
  const Zs: Float32Array[] = [];
  const As: Float32Array[] = [];
  const inputs: Float32Array[] = [];
  let h = X;
  let width = I;
  c.layers.forEach((layer, i) => {
    const O = layer.units;
    const b = layer.useBias ? Float32Array.from(c.params[`layers.${i}.bias`]!.data) : null;
    const Z = new Float32Array(B * O);
    const A = new Float32Array(B * O);
    denseForward(k, h, Float32Array.from(c.params[`layers.${i}.weight`]!.data), b, Z, B, width, O);
    const act = fused && i === c.layers.length - 1 ? 'linear' : layer.activation;
    activationForward(act, Z, A, B, O, layer.alpha ?? defaultAlpha(layer.activation));
    inputs.push(h);
    Zs.push(Z);
    As.push(A);
    h = A;
    width = O;
  });
  const O = width;
  let g: Float32Array = new Float32Array(B * O);
  lossBackward(loss, h, y, g, B, O, T);
  for (let i = c.layers.length - 1; i >= 0; i--) {
    const layer = c.layers[i]!;
    const Ii = i === 0 ? I : c.layers[i - 1]!.units;
    const act = fused && i === c.layers.length - 1 ? 'linear' : layer.activation;
    const dZ = new Float32Array(B * layer.units);
    activationBackward(act, Zs[i]!, As[i]!, g, dZ, B, layer.units, layer.alpha ?? defaultAlpha(layer.activation));
    const dIn = new Float32Array(B * Ii);
    denseBackward(
      k,
      dZ,
      inputs[i]!,
      Float32Array.from(c.params[`layers.${i}.weight`]!.data),
      new Float32Array(layer.units * Ii),
      layer.useBias ? new Float32Array(layer.units) : null,
      dIn,
      B,
      Ii,
      layer.units,
    );
    g = dIn;
  }
  return { hidden: As.slice(0, -1), dX: g };
}

for (const k of forEachBackend()) {
  describe(`model parity with PyTorch (${k.name}, ${k.threads} thread${k.threads > 1 ? 's' : ''})`, () => {
    for (const c of fixture.cases) {
      for (const l of c.losses) {
        const label = `${c.name} / ${l.loss.type}${l.loss.type === 'huber' ? ` δ=${l.loss.delta}` : ''} (${l.target})`;
        it(label, () => {
          const y = Float32Array.from(fixture.targets[l.target]!.data);
          const m = buildModel(k, c.layers, l.loss, c.params);
          const O = m.outputWidth;

          const out = modelForward(m, X, B, false, createRng(2));
          expectClose(out.subarray(0, B * O), c.output, OUT_RTOL, OUT_ATOL, `${label}: output`);

          const value = lossForward(l.loss, out, y, B, O, l.targetWidth);
          expect(Math.abs(value - l.value), `${label}: loss ${value} vs ${l.value}`).toBeLessThanOrEqual(
            LOSS_ATOL + LOSS_RTOL * Math.abs(l.value),
          );

          const dOut = new Float32Array(B * O);
          lossBackward(l.loss, out, y, dOut, B, O, l.targetWidth);
          expectClose(dOut, l.dOut, GRAD_RTOL, GRAD_ATOL, `${label}: dOut`);

          zeroGrads(m);
          modelBackward(m, dOut, B);
          for (const p of m.params) expectClose(p.grad, l.grads[p.name]!, GRAD_RTOL, GRAD_ATOL, `${label}: d${p.name}`);

          const composed = layerByLayer(k, c, l.loss, y, l.targetWidth);
          composed.hidden.forEach((a, i) => expectClose(a, c.hidden[i]!, OUT_RTOL, OUT_ATOL, `${label}: hidden ${i}`));
          expectClose(composed.dX, l.dX, GRAD_RTOL, GRAD_ATOL, `${label}: dX`);
        });
      }
    }
  });
}

describe('model fixture coverage', () => {
  it('exercises every hidden activation but softmax, and every loss', () => {
    const acts = new Set(fixture.cases.flatMap((c) => c.layers.slice(0, -1).map((l) => l.activation)));
    expect([...acts].sort()).toEqual(['elu', 'gelu', 'leaky_relu', 'linear', 'relu', 'sigmoid', 'tanh']);
    const losses = new Set(fixture.cases.flatMap((c) => c.losses.map((l) => `${l.loss.type}/${l.target}`)));
    expect([...losses].sort()).toEqual([
      'binary_cross_entropy/binary',
      'huber/regression',
      'mae/regression',
      'mse/regression',
      'softmax_cross_entropy/labels',
      'softmax_cross_entropy/soft',
    ]);
  });
});
