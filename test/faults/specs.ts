// Job specs the fault tests submit: small built-in data, epochs long enough to inject a fault in
// the middle of one, a fixed seed for bit-for-bit comparisons.

export const SEED = 7;

/** Spirals (240 training rows), two wide hidden layers, batch 2: ~120 mini-batches per epoch. */
export function slowSpec(epochs: number, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: 'fault-test',
    dataset: { builtin: 'spirals' },
    validation: { fraction: 0.2 },
    model: {
      layers: [
        { type: 'dense', units: 384, activation: 'relu' },
        { type: 'dropout', rate: 0.1 },
        { type: 'dense', units: 384, activation: 'relu' },
        { type: 'dense', units: 3 },
      ],
    },
    loss: 'softmax_cross_entropy',
    optimizer: { type: 'adam' },
    learningRate: { schedule: 'reduce_on_plateau', initial: 0.005, patience: 2, factor: 0.5 },
    batchSize: 2,
    epochs,
    checkpoints: { keepBest: 3 },
    seed: SEED,
    ...overrides,
  };
}

/**
 * Regression whose learning rate grows 10× per epoch (exponential schedule with decayRate >
 * 1): the first epoch trains, a later one blows up to NaN/Inf.
 */
export function divergingSpec(): Record<string, unknown> {
  return {
    name: 'diverges',
    dataset: { builtin: 'linear' },
    validation: { fraction: 0.2 },
    model: { layers: [{ type: 'dense', units: 16, activation: 'tanh' }, { type: 'dense', units: 1 }] },
    loss: 'mse',
    optimizer: { type: 'sgd' },
    // 400 training rows / batch 8 = 50 steps per epoch.
    learningRate: { schedule: 'exponential', initial: 0.01, decaySteps: 50, decayRate: 10, staircase: true },
    batchSize: 8,
    epochs: 20,
    checkpoints: { keepBest: 2 },
    seed: SEED,
  };
}
