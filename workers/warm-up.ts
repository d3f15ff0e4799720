// A spare trainer's warm-up while it waits for its job: a few steps of a tiny training run through
// the same code a job runs (hold-out split, byte-pixel gathers, dense ReLU layers, softmax
// cross-entropy, SGD with momentum, validation, a best checkpoint), so that V8 has parsed and
// compiled that code before the job's clock starts rather than on its first mini-batch. Nothing of
// it is kept: its data, model and results are dropped, and it touches no store.
//
// Its sizes are large enough for V8 to optimize the loops a job's start runs over every row and
// weight (the hold-out split's shuffle, the weights' initialization): with 64 rows and 136 weights
// they still ran unoptimized on a job's 60,000 rows and 235,000 weights, about 13 ms of a warm
// start (bench, AMD EPYC). The warm-up takes about 23 ms instead of 6, while the spare waits.

import { holdoutViews, train, yieldMacrotask, type Kernels, type TrainConfig } from '../src/core/node.js';

const ROWS = 4096;
const FEATURES = 32;
const CLASSES = 3;

function warmUpConfig(): TrainConfig {
  const dense = (units: number, activation: 'relu' | 'linear') => ({ type: 'dense' as const, units, activation, init: 'xavier_uniform' as const, useBias: true, biasInit: 'zeros' as const });
  return {
    layers: [dense(128, 'relu'), dense(CLASSES, 'linear')],
    loss: { type: 'softmax_cross_entropy' },
    optimizer: { type: 'sgd', momentum: 0.9, nesterov: false },
    learningRate: { schedule: 'cosine', initial: 0.05, decaySteps: 16, alpha: 0, restarts: false, tMul: 1, mMul: 1, warmupSteps: 0 },
    batchSize: 32,
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

/**
 * Runs the warm-up; resolves with how it ended: 'done', 'interrupted' (a job arrived: `jobArrived`
 * turned true, checked at every mini-batch after a turn of the event loop, so a job's message is
 * never held behind the warm-up for more than one mini-batch), or 'failed'. Never throws.
 */
export async function warmUpTraining(kernels: Kernels, jobArrived: () => boolean = () => false): Promise<'done' | 'interrupted' | 'failed'> {
  try {
    const x = new Uint8Array(ROWS * FEATURES);
    for (let i = 0; i < x.length; i++) x[i] = (i * 37) & 255;
    const y = Float32Array.from({ length: ROWS }, (_, r) => r % CLASSES);
    const { train: rows, validation } = holdoutViews({ x, y, n: ROWS, features: FEATURES, targetWidth: 1 }, 0.25, 1);
    const shouldStop = async () => {
      await yieldMacrotask();
      return jobArrived();
    };
    const result = await train(warmUpConfig(), { train: rows, validation }, { onBest: () => undefined, shouldStop }, { kernels });
    return result.reason === 'max_epochs' ? 'done' : result.reason === 'cancelled' ? 'interrupted' : 'failed';
  } catch {
    // A warm-up that fails costs the job nothing but the compile time it would have saved.
    return 'failed';
  }
}
