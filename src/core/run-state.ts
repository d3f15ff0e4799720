// One training run's state, in the parts the loop changes: the data, the model and the buffers a
// step computes in, the optimizer's moments, the loop position and RNG, the stopping rules and the
// checkpoint ranking; how a run is set up from a config and data, saved as resume state and restored.
// B batch, I inputs, O outputs, T target width, N samples.

import { createMiniBatches, type MiniBatches } from './batches.js';
import { checkpointBytes, weightTensors } from './checkpoint.js';
import { contiguous, featureFloats, standardizationOf, standardized, type Standardization } from './data.js';
import { CoreError } from './errors.js';
import type { Kernels } from './kernels/kernels.js';
import { columnMeans, createMetrics, taskOf, type MetricsAccumulator } from './metrics.js';
import { createModel, saveWeights, type Model, type Param } from './model.js';
import { createOptimizerState, optimizerStateTensors, restoreOptimizerState, type OptimizerState } from './optimizers.js';
import { createPacing, type Pacing, type YieldToCaller } from './pacing.js';
import { createPosition, type LoopPosition } from './position.js';
import { createRanking, type Ranking } from './ranking.js';
import { decodeResumeState, encodeResumeState, type DecodedResume, type ResumeState } from './resume.js';
import { createRng, restoreRng, rngState } from './rng.js';
import { learningRateAt } from './schedules.js';
import { createStopping, type Stopping } from './stopping.js';
import type { Dataset, EpochMetrics, Task, TrainConfig } from './types.js';
import { validateConfig, validateData } from './validate.js';

/** Rows per forward pass when scoring validation data (results do not depend on it). */
export const EVAL_CHUNK = 256;

export interface TrainingData {
  /** The rows trained and validated on, standardized when the config asks for it. */
  train: Dataset;
  validation: Dataset | null;
  /** The training split's standardization (stored in every checkpoint), or null. */
  normalization: Standardization | null;
  task: Task;
}

export interface TrainingRun {
  config: TrainConfig;
  /** Extra checkpoint metadata from the caller. */
  metadata: Record<string, string>;
  data: TrainingData;
  model: Model;
  batches: MiniBatches;
  /** Predictions [maxBatch × O] and ∂L/∂output [B × O]. */
  pred: Float32Array;
  /** lossAndGradient's count of rows predicted right in the current batch (NaN: not counted there). */
  hits: Float64Array;
  dOut: Float32Array;
  /** Validation rows as floats, one evaluation chunk at a time, when validation features are bytes or a view ([maxBatch × I]). */
  evalX: Float32Array | null;
  /** Validation targets, one evaluation chunk at a time, when validation is a view ([maxBatch × T]). */
  evalY: Float32Array | null;
  /** Rows 0…n−1 in order, for converting a byte validation set's chunks with the backend's gather (made on first use). */
  evalOrder: Int32Array | null;
  /** Running scores of the epoch's training pass and of the validation pass. */
  scores: { train: MetricsAccumulator; validation: MetricsAccumulator | null };
  optimizer: OptimizerState;
  position: LoopPosition;
  stopping: Stopping;
  ranking: Ranking;
  pacing: Pacing;
}

/** Tensors by name, as decodeSafetensors returns them. */
export type InitialTensors = ReadonlyMap<string, { shape: number[]; data: Float32Array }>;

export interface RunOptions {
  /** Bytes from an earlier run's resume state, with the same config and data. */
  resume?: Uint8Array | null;
  /** Fine-tuning's starting weights (and standardization); ignored when resuming. */
  initial?: InitialTensors | null;
  metadata?: Record<string, string>;
  yieldToCaller?: YieldToCaller;
}

/**
 * Whether a run of this config copies a view's rows (holdoutViews) before training: the mini-batches
 * and validation chunks gather through its rows, but standardizing features and a regression's column
 * means read rows in place. Such a run holds the rows twice; a caller short of memory splits in place.
 */
export function copiesViews(config: TrainConfig): boolean {
  return config.normalize === 'standard' || taskOf(config.loss) === 'regression';
}

/**
 * Whether mini-batches stay bytes (ByteInputKernels): byte features not standardized (which makes
 * floats of them), a first layer that is dense (dropout on the inputs works on floats), and a backend
 * whose first layer reads bytes. The bits are the same either way.
 */
function readsBytes(config: TrainConfig, train: Dataset, kernels: Kernels): boolean {
  return kernels.byteInputs !== undefined && train.x instanceof Uint8Array && config.normalize !== 'standard' && config.layers[0]?.type === 'dense';
}

/** Validates, builds the model, optimizer and every buffer, and restores a resume state if given. */
export function createRun(config: TrainConfig, data: { train: Dataset; validation: Dataset | null }, kernels: Kernels, options: RunOptions = {}): TrainingRun {
  validateConfig(config, data.train.features, data.train.targetWidth, { rows: data.train.n, hasValidation: data.validation !== null });
  // Checked as given (a view's rows too), before any copy of them.
  validateData(config, data);
  const readsInPlace = copiesViews(config);
  const rawTrain = readsInPlace ? contiguous(data.train) : data.train;
  const rawValidation = readsInPlace && data.validation !== null ? contiguous(data.validation) : data.validation;
  const N = rawTrain.n;
  const T = rawTrain.targetWidth;
  const batches = createMiniBatches(rawTrain, config.batchSize, config.dropLast, kernels, readsBytes(config, rawTrain, kernels));
  const maxBatch = Math.max(batches.size, Math.min(EVAL_CHUNK, rawValidation?.n ?? 0));

  const rng = createRng(config.seed);
  const model = createModel(config.layers, rawTrain.features, config.loss, rng, kernels, maxBatch);
  const O = model.outputWidth;
  const resumed = options.resume ? decodeResumeState(options.resume, config) : null;
  const initial = resumed === null ? (options.initial ?? null) : null;
  if (initial !== null) loadInitialWeights(model.params, initial);

  let normalization: Standardization | null = null;
  if (config.normalize === 'standard') {
    const mean = (resumed?.tensors ?? initial)?.get('normalize.mean');
    const std = (resumed?.tensors ?? initial)?.get('normalize.std');
    if (initial !== null && (mean?.data.length !== rawTrain.features || std?.data.length !== rawTrain.features)) {
      throw new CoreError('initFrom', `the initial tensors lack normalize.mean/normalize.std of length ${rawTrain.features}`);
    }
    normalization = mean && std ? { mean: mean.data, std: std.data } : standardizationOf(featureFloats(rawTrain.x), N, rawTrain.features);
  }
  const task = taskOf(config.loss);
  const yMean = task === 'regression' ? columnMeans(rawTrain.y, N, T) : new Float64Array(O);
  const valMean = task === 'regression' && rawValidation !== null ? columnMeans(rawValidation.y, rawValidation.n, T) : new Float64Array(O);

  const run: TrainingRun = {
    config,
    metadata: options.metadata ?? {},
    data: {
      train: standardized(rawTrain, normalization),
      validation: rawValidation === null ? null : standardized(rawValidation, normalization),
      normalization,
      task,
    },
    model,
    batches,
    pred: kernels.alloc(maxBatch * O),
    hits: new Float64Array(1),
    dOut: kernels.alloc(batches.size * O),
    evalX:
      rawValidation !== null && (rawValidation.x instanceof Uint8Array || rawValidation.rows !== undefined) && config.normalize !== 'standard'
        ? kernels.alloc(maxBatch * rawTrain.features)
        : null,
    evalY: rawValidation?.rows !== undefined ? new Float32Array(maxBatch * T) : null,
    evalOrder: null,
    scores: {
      train: createMetrics(config.loss, O, yMean),
      validation: rawValidation === null ? null : createMetrics(config.loss, O, valMean),
    },
    optimizer: createOptimizerState(config.optimizer, model.params, (n) => kernels.alloc(n)),
    position: createPosition(model.params, rng, learningRateAt(config.learningRate, 0, 0, null)),
    stopping: createStopping(config),
    ranking: createRanking(config, rawValidation !== null),
    pacing: createPacing(config.maxRuntimeSeconds, options.yieldToCaller),
  };
  if (resumed !== null) restore(run, resumed);
  return run;
}

/** Fine-tuning's starting point: every parameter from the given tensors, shapes checked. */
function loadInitialWeights(params: readonly Param[], tensors: InitialTensors): void {
  for (const p of params) {
    const t = tensors.get(p.name);
    if (t === undefined) throw new CoreError('initFrom', `the initial tensors lack ${p.name}`);
    if (t.shape.join(',') !== p.shape.join(',')) {
      throw new CoreError('initFrom', `${p.name} has shape [${t.shape.join(', ')}], the model needs [${p.shape.join(', ')}]`);
    }
    p.data.set(t.data);
  }
}

/** The model's weights now, as a checkpoint of the epoch `metrics` describe (null: before any epoch, at the current step). */
export function checkpointOf(run: TrainingRun, metrics: EpochMetrics | null): Uint8Array {
  const info = {
    epoch: metrics?.epoch ?? 0,
    step: metrics?.step ?? run.position.step,
    metrics,
    inputWidth: run.model.inputWidth,
    normalization: run.data.normalization,
  };
  return checkpointBytes(run.model.params, run.config, info, run.metadata);
}

/** Everything needed to continue this run exactly from the end of its last completed epoch. */
export function resumeBytes(run: TrainingRun): Uint8Array {
  const { position, stopping, ranking, model } = run;
  const state: ResumeState = {
    epoch: position.epoch,
    step: position.step,
    rng: rngState(position.rng),
    plateau: stopping.plateau,
    earlyStopping: stopping.earlyStopping,
    convergence: stopping.convergence,
    kept: ranking.kept,
    best: ranking.best,
    last: position.last,
    restorable: stopping.bestMetrics,
    stopped: stopping.stopped,
  };
  const bestWeights = stopping.bestWeights;
  return encodeResumeState(run.config, state, {
    weights: weightTensors(model.params),
    optimizer: optimizerStateTensors(run.optimizer),
    bestWeights: bestWeights === null ? null : model.params.map((p, k) => ({ name: p.name, shape: p.shape, data: bestWeights[k]! })),
    normalization: run.data.normalization,
  });
}

function restore(run: TrainingRun, { state, tensors }: DecodedResume): void {
  const params = run.model.params;
  const take = (name: string, into: Float32Array, shape: number[]): void => {
    const t = tensors.get(name);
    if (t === undefined || t.shape.join(',') !== shape.join(',')) {
      throw new CoreError('resume', `resume state lacks tensor ${name} of shape [${shape.join(', ')}]`);
    }
    into.set(t.data);
  };
  for (const p of params) take(p.name, p.data, p.shape);
  const { position, stopping, ranking } = run;
  saveWeights(params, position.epochStartWeights);
  if (state.restorable !== null) {
    const bestWeights = params.map((p) => new Float32Array(p.data.length));
    params.forEach((p, k) => take(`best.${p.name}`, bestWeights[k]!, p.shape));
    stopping.bestWeights = bestWeights;
  }
  run.optimizer = restoreOptimizerState(run.config.optimizer, params, tensors, (n) => run.model.kernels.alloc(n));

  position.epoch = state.epoch;
  position.step = state.step;
  position.epochStartStep = state.step;
  position.rng = restoreRng(state.rng);
  position.last = state.last;
  if (state.last !== null) position.lr = state.last.lr;
  stopping.plateau = state.plateau;
  stopping.earlyStopping = state.earlyStopping;
  stopping.convergence = state.convergence;
  stopping.bestMetrics = state.restorable;
  stopping.stopped = state.stopped;
  ranking.kept = state.kept;
  ranking.best = state.best;
}
