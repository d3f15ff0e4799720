// Optimizer state bookkeeping (moments, resume tensors) and argument checks; the update rules
// themselves are compared with PyTorch in pytorch-parity-optim.test.ts.

import { describe, expect, it } from 'vitest';
import { CoreError } from '../../src/core/errors.js';
import {
  createOptimizerState,
  momentNames,
  optimizerStateTensors,
  optimizerStep,
  restoreOptimizerState,
  validateOptimizer,
} from '../../src/core/optimizers.js';
import type { OptimizerConfig } from '../../src/core/types.js';

const adam: OptimizerConfig = { type: 'adam', beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0, amsgrad: true };

function params() {
  return [
    { name: 'layers.0.weight', shape: [2, 3], isWeight: true, data: Float32Array.of(1, -2, 3, 0.5, 0, -1), grad: new Float32Array(6) },
    { name: 'layers.0.bias', shape: [2], isWeight: false, data: Float32Array.of(0.1, -0.1), grad: new Float32Array(2) },
  ];
}

function fillGrads(ps: ReturnType<typeof params>, step: number): void {
  for (const p of ps) for (let i = 0; i < p.grad.length; i++) p.grad[i] = Math.sin(step * 3.1 + i) * (1 + i);
}

describe('optimizer state', () => {
  it('keeps the moments each optimizer needs, and no others', () => {
    expect(momentNames({ type: 'sgd', momentum: 0, nesterov: false })).toEqual([]);
    expect(momentNames({ type: 'sgd', momentum: 0.9, nesterov: true })).toEqual(['buf']);
    expect(momentNames({ type: 'adagrad', initialAccumulator: 0.1, epsilon: 1e-7 })).toEqual(['v']);
    expect(momentNames({ type: 'rmsprop', rho: 0.9, momentum: 0.5, centered: true, epsilon: 1e-7 })).toEqual(['v', 'buf', 'gAvg']);
    expect(momentNames({ ...adam, amsgrad: false })).toEqual(['m', 'v']);
    expect(momentNames({ ...adam, type: 'adamw' })).toEqual(['m', 'v', 'vMax']);
  });

  it('starts adagrad’s sum at initialAccumulator and everything else at 0', () => {
    const s = createOptimizerState({ type: 'adagrad', initialAccumulator: 0.25, epsilon: 1e-7 }, params());
    expect([...s.moments[0]!.v!]).toEqual([0.25, 0.25, 0.25, 0.25, 0.25, 0.25]);
    const a = createOptimizerState(adam, params());
    expect(a.t).toBe(0);
    expect([...a.moments[1]!.m!]).toEqual([0, 0]);
  });

  it('updates in place: steps reuse the same buffers', () => {
    const ps = params();
    const state = createOptimizerState(adam, ps);
    const before = state.moments.map((m) => [m.m, m.v, m.vMax]);
    const data = ps.map((p) => p.data);
    for (let s = 0; s < 3; s++) {
      fillGrads(ps, s);
      optimizerStep(adam, ps, state, 0.01);
    }
    expect(state.moments.map((m) => [m.m, m.v, m.vMax])).toEqual(before);
    state.moments.forEach((m, i) => expect(m.m).toBe(before[i]![0]));
    ps.forEach((p, i) => expect(p.data).toBe(data[i]));
    expect(state.t).toBe(3);
  });

  it('round-trips through tensors, exactly, and continues identically', () => {
    const cfg: OptimizerConfig = { type: 'rmsprop', rho: 0.9, momentum: 0.5, centered: true, epsilon: 1e-7 };
    const a = params();
    const b = params();
    const sa = createOptimizerState(cfg, a);
    const sb = createOptimizerState(cfg, b);
    for (let s = 0; s < 3; s++) {
      fillGrads(a, s);
      fillGrads(b, s);
      optimizerStep(cfg, a, sa, 0.01);
      optimizerStep(cfg, b, sb, 0.01);
    }
    const tensors = optimizerStateTensors(sb);
    expect(tensors.map((t) => t.name)).toEqual([
      'optimizer.t',
      'optimizer.layers.0.weight.buf',
      'optimizer.layers.0.weight.v',
      'optimizer.layers.0.weight.gAvg',
      'optimizer.layers.0.bias.buf',
      'optimizer.layers.0.bias.v',
      'optimizer.layers.0.bias.gAvg',
    ]);
    expect(tensors[1]!.shape).toEqual([2, 3]);
    const restored = restoreOptimizerState(cfg, b, new Map(tensors.map((t) => [t.name, { shape: t.shape, data: t.data.slice() }])));
    expect(restored).toEqual(sb);
    for (let s = 3; s < 6; s++) {
      fillGrads(a, s);
      fillGrads(b, s);
      optimizerStep(cfg, a, sa, 0.01);
      optimizerStep(cfg, b, restored, 0.01);
    }
    expect([...b[0]!.data]).toEqual([...a[0]!.data]);
    expect([...b[1]!.data]).toEqual([...a[1]!.data]);
  });

  it('stores the step count exactly beyond float32’s 2^24 integers', () => {
    const state = createOptimizerState(adam, params());
    state.t = 2 ** 40 + 12345;
    const tensors = optimizerStateTensors(state);
    const restored = restoreOptimizerState(adam, params(), new Map(tensors.map((t) => [t.name, t])));
    expect(restored.t).toBe(2 ** 40 + 12345);
  });

  it('refuses resume tensors that are missing or shaped for another model', () => {
    const state = createOptimizerState(adam, params());
    const tensors = new Map(optimizerStateTensors(state).map((t) => [t.name, t]));
    const missing = new Map(tensors);
    missing.delete('optimizer.layers.0.bias.vMax');
    expect(() => restoreOptimizerState(adam, params(), missing)).toThrow(
      new CoreError('optimizer', 'resume state lacks tensor optimizer.layers.0.bias.vMax'),
    );
    const reshaped = new Map(tensors);
    reshaped.set('optimizer.layers.0.weight.m', { name: 'x', shape: [3, 2], data: new Float32Array(6) });
    expect(() => restoreOptimizerState(adam, params(), reshaped)).toThrow(/has shape \[3, 2\], expected \[2, 3\]/);
    const noT = new Map(tensors);
    noT.delete('optimizer.t');
    expect(() => restoreOptimizerState(adam, params(), noT)).toThrow(CoreError);
  });
});

describe('validateOptimizer', () => {
  const refused: [OptimizerConfig, string, string][] = [
    [{ type: 'sgd', momentum: -0.1, nesterov: false }, 'optimizer.momentum', 'momentum must be in [0, 1], got -0.1'],
    [{ type: 'sgd', momentum: 0, nesterov: true }, 'optimizer.nesterov', 'nesterov requires momentum > 0, got momentum 0'],
    [{ type: 'adagrad', initialAccumulator: -1, epsilon: 1e-7 }, 'optimizer.initialAccumulator', 'initialAccumulator must be >= 0, got -1'],
    [{ type: 'adagrad', initialAccumulator: 0, epsilon: 0 }, 'optimizer.epsilon', 'epsilon must be > 0, got 0'],
    [{ type: 'rmsprop', rho: 1, momentum: 0, centered: false, epsilon: 1e-7 }, 'optimizer.rho', 'rho must be in [0, 1), got 1'],
    [{ ...adam, beta1: 1 }, 'optimizer.beta1', 'beta1 must be in [0, 1), got 1'],
    [{ ...adam, beta2: Number.NaN }, 'optimizer.beta2', 'beta2 must be in [0, 1), got NaN'],
    [{ ...adam, type: 'adamw', weightDecay: -0.01 }, 'optimizer.weightDecay', 'weightDecay must be >= 0, got -0.01'],
  ];
  for (const [cfg, path, message] of refused) {
    it(`refuses: ${message}`, () => {
      expect(() => validateOptimizer(cfg)).toThrow(expect.objectContaining({ path, message }));
    });
  }
  it('accepts the defaults', () => {
    expect(() => validateOptimizer({ type: 'sgd', momentum: 0.9, nesterov: true })).not.toThrow();
    expect(() => validateOptimizer(adam)).not.toThrow();
  });
});
