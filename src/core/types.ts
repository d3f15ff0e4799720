// The numeric core's configuration and data types. Resolved values only: defaults are applied by
// the caller (the job spec schema), the core validates ranges and refuses what cannot run.
// Dimension names used throughout the core: B batch, I inputs, O outputs, N samples.

export type Activation =
  | 'linear'
  | 'relu'
  | 'leaky_relu'
  | 'elu'
  | 'sigmoid'
  | 'tanh'
  | 'gelu'
  | 'softmax';

/** Weight/bias initializers. Named fan-based ones take no arguments. */
export type Init =
  | 'xavier_uniform'
  | 'xavier_normal'
  | 'he_uniform'
  | 'he_normal'
  | 'lecun_normal'
  | 'zeros'
  | { type: 'normal'; std: number; mean?: number }
  | { type: 'uniform'; limit: number }
  | { type: 'constant'; value: number };

export interface DenseLayerConfig {
  type: 'dense';
  units: number;
  activation: Activation;
  init: Init;
  useBias: boolean;
  biasInit: Init;
  /** Negative slope of leaky_relu (default 0.01) and alpha of elu (default 1). */
  alpha?: number;
}

export interface DropoutLayerConfig {
  type: 'dropout';
  rate: number;
}

export type LayerConfig = DenseLayerConfig | DropoutLayerConfig;

export type LossConfig =
  | { type: 'softmax_cross_entropy' }
  | { type: 'binary_cross_entropy' }
  | { type: 'mse' }
  | { type: 'mae' }
  | { type: 'huber'; delta: number };

export type OptimizerConfig =
  | { type: 'sgd'; momentum: number; nesterov: boolean }
  | { type: 'adagrad'; initialAccumulator: number; epsilon: number }
  | { type: 'rmsprop'; rho: number; momentum: number; centered: boolean; epsilon: number }
  /** adam's weightDecay is coupled L2 (PyTorch Adam); adamw's is decoupled. */
  | { type: 'adam'; beta1: number; beta2: number; epsilon: number; weightDecay: number; amsgrad: boolean }
  | { type: 'adamw'; beta1: number; beta2: number; epsilon: number; weightDecay: number; amsgrad: boolean };

/** Learning-rate schedules. Steps count optimizer updates (Keras); `step` counts epochs. */
export type ScheduleConfig = (
  | { schedule: 'constant'; initial: number }
  | { schedule: 'step'; initial: number; factor: number; everyEpochs: number }
  | { schedule: 'exponential'; initial: number; decaySteps: number; decayRate: number; staircase: boolean }
  | { schedule: 'inverse_time'; initial: number; decaySteps: number; decayRate: number; staircase: boolean }
  | { schedule: 'cosine'; initial: number; decaySteps: number; alpha: number; restarts: boolean; tMul: number; mMul: number }
  | { schedule: 'polynomial'; initial: number; decaySteps: number; endLearningRate: number; power: number; cycle: boolean }
  | {
      schedule: 'reduce_on_plateau';
      initial: number;
      factor: number;
      patience: number;
      cooldown: number;
      minLr: number;
      minDelta: number;
      monitor: string;
      mode: 'min' | 'max' | 'auto';
    }
) & { warmupSteps: number };

export interface EarlyStoppingConfig {
  monitor: string;
  mode: 'min' | 'max' | 'auto';
  patience: number;
  minDelta: number;
  startFromEpoch: number;
  baseline: number | null;
  restoreBest: boolean;
}

export interface TrainConfig {
  layers: LayerConfig[];
  loss: LossConfig;
  optimizer: OptimizerConfig;
  learningRate: ScheduleConfig;
  batchSize: number | 'full';
  dropLast: boolean;
  /** The maximum number of epochs. */
  epochs: number;
  shuffle: boolean;
  regularization: { l1: number; l2: number };
  /** Clip gradients by global norm; null = off. */
  clipNorm: number | null;
  earlyStopping: EarlyStoppingConfig | null;
  /** sklearn's tol + n_iter_no_change on the training loss; null = off. */
  convergence: { tol: number; nIterNoChange: number } | null;
  /** Keep the best N checkpoints, ranked by `monitor` (default: earlyStopping's, else val_loss or loss). */
  checkpoints: { keepBest: number; monitor: string | null; mode: 'min' | 'max' | 'auto' };
  maxRuntimeSeconds: number | null;
  /** Per-feature standardization computed on the training split, stored in every checkpoint. */
  normalize: 'none' | 'standard';
  seed: number;
}

/** Row-major samples. For softmax cross-entropy, targetWidth 1 holds integer class labels and
 *  targetWidth = outputs holds soft target distributions. */
export interface Dataset {
  /** Features: float32, or bytes that stand for byte / 255 (IDX pixels kept compact, a quarter of
   *  the memory; the float is made when rows are gathered, the same float as converting first). */
  x: Float32Array | Uint8Array;
  y: Float32Array;
  n: number;
  features: number;
  targetWidth: number;
  /**
   * A view's rows: this dataset is rows rows[0], rows[1], … of x and y, in that order (holdoutViews
   * makes them; n = rows.length). Absent: rows 0…n−1, x and y holding exactly those.
   */
  rows?: Int32Array;
}

/** A dataset whose features are floats (built-ins, parsed CSV and JSON). */
export type FloatDataset = Dataset & { x: Float32Array };

export type Task = 'classification' | 'regression';

/** One record per epoch: the same object is streamed, polled and ranked by. */
export interface EpochMetrics {
  epoch: number;
  step: number;
  loss: number;
  lr: number;
  seconds: number;
  samplesPerSec: number;
  accuracy?: number;
  val_loss?: number;
  val_accuracy?: number;
  mae?: number;
  rmse?: number;
  r2?: number;
  val_mae?: number;
  val_rmse?: number;
  val_r2?: number;
}

export type StopReason = 'max_epochs' | 'early_stopped' | 'converged' | 'max_runtime' | 'diverged' | 'cancelled';
