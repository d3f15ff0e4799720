// Shared builders for the training-loop tests: a resolved TrainConfig with Keras-like defaults
// and small synthetic datasets generated in the test (no files).

import type { Activation, FloatDataset as Dataset, EpochMetrics, LayerConfig, TrainConfig } from '../../src/core/types.js';

export function dense(units: number, activation: Activation = 'linear'): LayerConfig {
  return { type: 'dense', units, activation, init: 'xavier_uniform', useBias: true, biasInit: 'zeros' };
}

export function dropout(rate: number): LayerConfig {
  return { type: 'dropout', rate };
}

export function constantLr(initial: number): TrainConfig['learningRate'] {
  return { schedule: 'constant', initial, warmupSteps: 0 };
}

/** Metrics without the wall-clock fields, which are the only ones allowed to differ between runs. */
export function timeless(m: EpochMetrics | null): Omit<EpochMetrics, 'seconds' | 'samplesPerSec'> | null {
  if (m === null) return null;
  const { seconds: _s, samplesPerSec: _r, ...rest } = m;
  return rest;
}

export function config(overrides: Partial<TrainConfig> = {}): TrainConfig {
  return {
    layers: [dense(8, 'tanh'), dense(2)],
    loss: { type: 'softmax_cross_entropy' },
    optimizer: { type: 'adam', beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0, amsgrad: false },
    learningRate: { schedule: 'constant', initial: 0.01, warmupSteps: 0 },
    batchSize: 32,
    dropLast: false,
    epochs: 10,
    shuffle: true,
    regularization: { l1: 0, l2: 0 },
    clipNorm: null,
    earlyStopping: null,
    convergence: null,
    checkpoints: { keepBest: 3, monitor: null, mode: 'auto' },
    maxRuntimeSeconds: null,
    normalize: 'none',
    seed: 42,
    ...overrides,
  };
}

export function xor(): Dataset {
  return { x: Float32Array.from([0, 0, 0, 1, 1, 0, 1, 1]), y: Float32Array.from([0, 1, 1, 0]), n: 4, features: 2, targetWidth: 1 };
}

/** Two interleaved spirals (the classic benchmark), `perClass` points each, labels 0/1. */
export function spirals(perClass: number, noise = 0, seed = 1): Dataset {
  let s = seed;
  const rand = (): number => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
  const n = 2 * perClass;
  const x = new Float32Array(n * 2);
  const y = new Float32Array(n);
  for (let i = 0; i < perClass; i++) {
    const t = (i / perClass) * 3 * Math.PI + 0.5;
    const r = t / (3 * Math.PI + 0.5);
    for (let c = 0; c < 2; c++) {
      const k = 2 * i + c;
      const sign = c === 0 ? 1 : -1;
      x[2 * k] = sign * r * Math.cos(t) + noise * (rand() - 0.5);
      x[2 * k + 1] = sign * r * Math.sin(t) + noise * (rand() - 0.5);
      y[k] = c;
    }
  }
  return { x, y, n, features: 2, targetWidth: 1 };
}

/** y = sin(x0)·x1 + 0.5·x0 on [-2, 2]², a smooth nonlinear regression target. */
export function regression(n: number, seed = 3, noise = 0): Dataset {
  let s = seed;
  const rand = (): number => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
  const x = new Float32Array(n * 2);
  const y = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const a = 4 * rand() - 2;
    const b = 4 * rand() - 2;
    x[2 * i] = a;
    x[2 * i + 1] = b;
    y[i] = Math.sin(a) * b + 0.5 * a + noise * (rand() - 0.5);
  }
  return { x, y, n, features: 2, targetWidth: 1 };
}
