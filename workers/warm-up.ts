// A spare trainer's warm-up while it waits for its job: a few steps of a tiny training run through
// the same code a job runs (hold-out split, byte-pixel gathers, dense ReLU layers, softmax
// cross-entropy, SGD with momentum, validation, a best checkpoint), so that V8 has parsed and
// compiled that code before the job's clock starts rather than on its first mini-batch. Nothing of
// it is kept: its data, model and results are dropped, and it touches no store.

import { holdoutViews, train, type Kernels, type TrainConfig } from '../src/core/node.js';

const ROWS = 64;
const FEATURES = 16;
const CLASSES = 3;

function warmUpConfig(): TrainConfig {
  const dense = (units: number, activation: 'relu' | 'linear') => ({ type: 'dense' as const, units, activation, init: 'xavier_uniform' as const, useBias: true, biasInit: 'zeros' as const });
  return {
    layers: [dense(8, 'relu'), dense(CLASSES, 'linear')],
    loss: { type: 'softmax_cross_entropy' },
    optimizer: { type: 'sgd', momentum: 0.9, nesterov: false },
    learningRate: { schedule: 'cosine', initial: 0.05, decaySteps: 16, alpha: 0, restarts: false, tMul: 1, mMul: 1, warmupSteps: 0 },
    batchSize: 8,
    dropLast: false,
    epochs: 2,
    shuffle: true,
    regularization: { l1: 0, l2: 0 },
    clipNorm: null,
    earlyStopping: null,
    convergence: null,
    checkpoints: { keepBest: 1, monitor: 'val_loss', mode: 'auto' },
    maxRuntimeSeconds: null,
    normalize: 'none',
    seed: 1,
  };
}

/** Runs the warm-up; resolves with whether it trained to the end. Never throws. */
export async function warmUpTraining(kernels: Kernels): Promise<boolean> {
  try {
    const x = new Uint8Array(ROWS * FEATURES);
    for (let i = 0; i < x.length; i++) x[i] = (i * 37) & 255;
    const y = Float32Array.from({ length: ROWS }, (_, r) => r % CLASSES);
    const { train: rows, validation } = holdoutViews({ x, y, n: ROWS, features: FEATURES, targetWidth: 1 }, 0.25, 1);
    const result = await train(warmUpConfig(), { train: rows, validation }, { onBest: () => undefined, shouldStop: () => false }, { kernels });
    return result.reason === 'max_epochs';
  } catch {
    // A warm-up that fails costs the job nothing but the compile time it would have saved.
    return false;
  }
}
