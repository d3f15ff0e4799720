// The benchmark's network and training recipe (shared by the in-process runs and the RSS child):
// MLP 784-…-10, ReLU, softmax cross-entropy, SGD momentum 0.9 with cosine decay to 0 over the run
// (bench/baseline.py does the same per step), Xavier-uniform weights, zero biases.
import type { Kernels } from '../src/core/kernels/kernels.js';
import { train } from '../src/core/train.js';
import type { Dataset, EpochMetrics, LayerConfig, TrainConfig } from '../src/core/types.js';

export interface MlpRun {
  hidden: number[];
  batchSize: number;
  epochs: number;
  learningRate: number;
  seed: number;
}

/** The learning rate per batch size: larger batches take larger steps (√ scaling). */
export function learningRateFor(batchSize: number): number {
  return Math.round(0.02 * Math.sqrt(batchSize / 32) * 1e4) / 1e4;
}

/**
 * Multiply-add flops of one training sample through MLP inputs-…-outputs: the forward product and the
 * weight gradient of every layer, and the input gradient of every layer but the first (nothing
 * needs it there). Biases, activations, the loss and the optimizer are not counted.
 */
export function mlpFlopsPerSample(hidden: number[], inputs = 784, outputs = 10): number {
  const widths = [inputs, ...hidden, outputs];
  let flops = 0;
  for (let l = 0; l + 1 < widths.length; l++) {
    const macs = widths[l]! * widths[l + 1]!;
    flops += 2 * macs * (l === 0 ? 2 : 3);
  }
  return flops;
}

export function mlpConfig(run: MlpRun, rows: number): TrainConfig {
  const steps = run.epochs * Math.ceil(rows / run.batchSize);
  const dense = (units: number, activation: 'relu' | 'linear'): LayerConfig => ({
    type: 'dense',
    units,
    activation,
    init: 'xavier_uniform',
    useBias: true,
    biasInit: 'zeros',
  });
  return {
    layers: [...run.hidden.map((u) => dense(u, 'relu')), dense(10, 'linear')],
    loss: { type: 'softmax_cross_entropy' },
    optimizer: { type: 'sgd', momentum: 0.9, nesterov: false },
    learningRate: { schedule: 'cosine', initial: run.learningRate, decaySteps: steps, alpha: 0, restarts: false, tMul: 1, mMul: 1, warmupSteps: 0 },
    batchSize: run.batchSize,
    dropLast: false,
    epochs: run.epochs,
    shuffle: true,
    regularization: { l1: 0, l2: 0 },
    clipNorm: null,
    earlyStopping: null,
    convergence: null,
    checkpoints: { keepBest: 0, monitor: null, mode: 'auto' },
    maxRuntimeSeconds: null,
    normalize: 'none',
    seed: run.seed,
  };
}

export interface MlpResult {
  /** Median over epochs of training samples per second (scoring excluded). */
  samplesPerSec: number;
  /** Each epoch's samples per second, in order. */
  rates: number[];
  /** Accuracy on `test` after the last epoch. */
  testAccuracy: number;
  backend: string;
  /** The run's final checkpoint bytes (serialized when called). */
  checkpoint: () => Uint8Array;
}

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export async function trainMlp(run: MlpRun, data: { train: Dataset; test: Dataset | null }, kernels: Kernels, onEpoch?: (m: EpochMetrics) => void | Promise<void>): Promise<MlpResult> {
  const rates: number[] = [];
  let accuracy = NaN;
  const result = await train(
    mlpConfig(run, data.train.n),
    { train: data.train, validation: data.test },
    {
      onEpoch: async (m) => {
        rates.push(m.samplesPerSec);
        accuracy = m.val_accuracy ?? NaN;
        await onEpoch?.(m);
      },
    },
    { kernels },
  );
  return { samplesPerSec: median(rates), rates, testAccuracy: accuracy, backend: result.backend, checkpoint: () => result.checkpoint };
}
