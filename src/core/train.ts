// The training loop: mini-batch gradient descent with backpropagation. Every step is
// forward → loss → zero grads → backward → regularize/clip → update (w −= lr·∂L/∂w); every epoch
// reshuffles from the seed, validates, decides whether to stop, ranks checkpoints and hands the
// results to the caller's hooks, which do all the I/O.
// B batch, I inputs, O outputs, T target width, N samples.

import { checkpointBytes, weightTensors, type CheckpointInfo } from './checkpoint.js';
import { BYTE_VALUES, featureFloats, standardizationOf, standardize, type Standardization } from './data.js';
import { createEarlyStopping, earlyStoppingUpdate, resolveMode, type Direction } from './early-stopping.js';
import { CoreError } from './errors.js';
import type { Kernels } from './kernels/kernels.js';
import { jsKernels } from './kernels/js.js';
import { lossAndOutputs, lossBackward } from './losses.js';
import {
  accumulateMetrics,
  columnMeans,
  createMetrics,
  finishMetrics,
  resetMetrics,
  taskOf,
  type MetricsAccumulator,
  type PassMetrics,
} from './metrics.js';
import { createModel, modelBackward, modelForward, zeroGrads, type Model, type Param } from './model.js';
import {
  createOptimizerState,
  optimizerStateTensors,
  optimizerStep,
  restoreOptimizerState,
  type OptimizerState,
} from './optimizers.js';
import { applyRegularization, clipByGlobalNorm, regularizationPenalty } from './regularization.js';
import { decodeResumeState, encodeResumeState, type KeptCheckpoint, type LoopState } from './resume.js';
import { createRng, restoreRng, rngState, shuffleInPlace, type Rng } from './rng.js';
import { createPlateauState, learningRateAt, plateauUpdate } from './schedules.js';
import type { Dataset, EpochMetrics, StopReason, Task, TrainConfig } from './types.js';
import { validateConfig } from './validate.js';

/** A checkpoint entering the kept best-N set (not necessarily the new top: see `kept`, best first). */
export interface BestCheckpointEvent {
  epoch: number;
  step: number;
  monitor: string;
  value: number;
  /** The checkpoint file (safetensors). */
  bytes: Uint8Array;
  /** The kept checkpoints after this one entered, best first. */
  kept: KeptCheckpoint[];
  /** Epochs that dropped out of the kept set: their files can be deleted. */
  evicted: number[];
}

export interface LatestStateEvent {
  epoch: number;
  step: number;
  /** Resume state (safetensors) to pass back as `options.resume`. */
  bytes: Uint8Array;
}

/** Callbacks for the caller's I/O; each may return a promise, which training awaits. */
export interface TrainHooks {
  onEpoch?(metrics: EpochMetrics): void | Promise<void>;
  onBest?(event: BestCheckpointEvent): void | Promise<void>;
  onLatest?(event: LatestStateEvent): void | Promise<void>;
  /** Polled before every mini-batch; true ends training with reason 'cancelled'. */
  shouldStop?(): boolean | Promise<boolean>;
}

export interface TrainOptions {
  /** Bytes from an earlier run's onLatest, with the same config and data: training continues from there. */
  resume?: Uint8Array | null;
  kernels?: Kernels;
  /** Extra checkpoint metadata (e.g. the job spec); the core's own keys take precedence. */
  metadata?: Record<string, string>;
  /** Fine-tuning: start from these tensors (a checkpoint's `layers.{i}.*`, and `normalize.*` when
   *  the config normalizes) instead of the random init. Ignored when `resume` is given. */
  initial?: InitialTensors | null;
}

/** Tensors by name, as decodeSafetensors returns them. */
export type InitialTensors = ReadonlyMap<string, { shape: number[]; data: Float32Array }>;

export interface TrainResult {
  reason: StopReason;
  /** Completed epochs, and optimizer updates made in them. */
  epochs: number;
  step: number;
  /** The top-ranked epoch by the checkpoint monitor, and its metrics. */
  bestEpoch: number | null;
  best: EpochMetrics | null;
  last: EpochMetrics | null;
  /** The epoch whose weights early stopping's restoreBest put back, if it did. */
  restoredEpoch: number | null;
  /** The model training ended with (restored best weights, else the last completed epoch's), as a checkpoint. */
  checkpoint: Uint8Array;
  monitor: string;
  backend: string;
}

/** How long compute may run before letting the caller's I/O in. */
const YIELD_MS = 50;
/** Rows per forward pass when scoring validation data (results do not depend on it). */
export const EVAL_CHUNK = 256;

interface Job {
  config: TrainConfig;
  metadata: Record<string, string>;
  task: Task;
  train: Dataset;
  validation: Dataset | null;
  normalization: Standardization | null;
  I: number;
  O: number;
  T: number;
  /** Rows per mini-batch, and mini-batches per epoch. */
  B: number;
  batches: number;
  model: Model;
  params: Param[];
  optimizer: OptimizerState;
  rng: Rng;
  /** Row order of the current epoch, and a view of each training row (made once, so gathering a batch is memcpy without allocation). */
  order: Int32Array;
  /** Batch gather buffers [B × I], [B × T], predictions [maxBatch × O] and ∂L/∂output [B × O]. */
  X: Float32Array;
  Y: Float32Array;
  pred: Float32Array;
  dOut: Float32Array;
  /** Validation rows as floats, one evaluation chunk at a time, when validation features are bytes ([maxBatch × I]). */
  evalX: Float32Array | null;
  trainMetrics: MetricsAccumulator;
  valMetrics: MetricsAccumulator | null;
  monitor: string;
  direction: Direction;
  /** Weights at the end of the last completed epoch, and of the epoch restoreBest would restore. */
  lastGood: Float32Array[];
  restorable: Float32Array[] | null;
  /** Everything else that carries over epochs (epoch, step, stopping and ranking state, best/last metrics). */
  loop: LoopState;
  /** True once the current epoch has changed the weights. */
  dirty: boolean;
  /** The optimizer step the current epoch started at: where a half-finished epoch rolls back to. */
  epochStartStep: number;
  lr: number;
  deadline: number | null;
  lastYield: number;
}

export async function train(
  config: TrainConfig,
  data: { train: Dataset; validation: Dataset | null },
  hooks: TrainHooks = {},
  options: TrainOptions = {},
): Promise<TrainResult> {
  const kernels = options.kernels ?? jsKernels;
  const job = prepareJob(config, data, kernels, options);
  let reason: StopReason | null = job.loop.stopped;
  while (reason === null && job.loop.epoch < config.epochs) {
    const started = performance.now();
    reason = await trainEpoch(job, hooks);
    if (reason === null) reason = await endEpoch(job, hooks, started);
  }
  return finish(job, reason ?? 'max_epochs', kernels);
}

/** One pass over the training rows in mini-batches; returns why it stopped early, or null. */
async function trainEpoch(job: Job, hooks: TrainHooks): Promise<StopReason | null> {
  const { config, model, params, X, Y, pred, dOut, O, T } = job;
  const epochIndex = job.loop.epoch;
  job.epochStartStep = job.loop.step;
  orderRows(job);
  resetMetrics(job.trainMetrics);
  for (let b = 0; b < job.batches; b++) {
    const interrupted = await pause(job, hooks);
    if (interrupted !== null) return interrupted;
    const B = gatherBatch(job, b);

    const out = modelForward(model, X, B, true, job.rng); //            forward
    let loss = lossAndOutputs(config.loss, out, Y, pred, B, O, T); //    loss (and predictions)
    zeroGrads(model); //                                                 zero grads
    lossBackward(config.loss, out, Y, dOut, B, O, T, pred); //           backward
    modelBackward(model, dOut, B);
    loss += applyRegularization(params, config.regularization.l1, config.regularization.l2); // regularize
    if (config.clipNorm !== null) clipByGlobalNorm(params, config.clipNorm); //                clip
    if (!Number.isFinite(loss)) return 'diverged';
    job.lr = learningRateAt(config.learningRate, job.loop.step, epochIndex, job.loop.plateau);
    optimizerStep(config.optimizer, params, job.optimizer, job.lr, job.model.kernels); //   update: w −= lr·∂L/∂w

    job.loop.step += 1;
    job.dirty = true;
    accumulateMetrics(job.trainMetrics, loss, pred, Y, B, T);
  }
  return null;
}

/** Scores the finished epoch, runs the stopping rules, checkpoints, and calls the hooks. */
async function endEpoch(job: Job, hooks: TrainHooks, started: number): Promise<StopReason | null> {
  const trainedAt = performance.now();
  const trained = finishMetrics(job.trainMetrics);
  const validated = job.validation === null ? null : evaluate(job, job.validation, job.valMetrics!);
  if ((validated !== null && !Number.isFinite(validated.loss)) || !allFinite(job.params)) return 'diverged';

  job.loop.epoch += 1;
  const metrics = epochMetrics(job, trained, validated, started, trainedAt);
  saveWeights(job.params, job.lastGood);
  job.dirty = false;
  job.loop.last = metrics;

  const reason = applyStoppingRules(job, metrics);
  await hooks.onEpoch?.({ ...metrics });
  await keepIfBest(job, hooks, metrics);
  job.loop.stopped = reason;
  await hooks.onLatest?.({ epoch: job.loop.epoch, step: job.loop.step, bytes: resumeBytes(job) });
  return reason;
}

/** Early stopping, the convergence test and reduce-on-plateau, in Keras's callback order. */
function applyStoppingRules(job: Job, metrics: EpochMetrics): StopReason | null {
  const { config, loop } = job;
  let reason: StopReason | null = null;
  if (config.earlyStopping !== null && loop.earlyStopping !== null) {
    const es = config.earlyStopping;
    if (earlyStoppingUpdate(es, loop.earlyStopping, metrics.epoch, metricValue(metrics, es.monitor)) === 'stop') {
      reason = 'early_stopped';
    }
    if (es.restoreBest && loop.earlyStopping.bestEpoch === metrics.epoch) {
      job.restorable ??= job.params.map((p) => new Float32Array(p.data.length));
      saveWeights(job.params, job.restorable);
      job.loop.restorable = metrics;
    }
  }
  if (config.convergence !== null && loop.convergence !== null) {
    // sklearn's MLP: no improvement = loss > best − tol; stop after more than nIterNoChange in a row.
    const c = loop.convergence;
    c.wait = metrics.loss > (c.best ?? Infinity) - config.convergence.tol ? c.wait + 1 : 0;
    if (metrics.loss < (c.best ?? Infinity)) c.best = metrics.loss;
    if (c.wait > config.convergence.nIterNoChange) reason ??= 'converged';
  }
  const schedule = config.learningRate;
  if (schedule.schedule === 'reduce_on_plateau' && loop.plateau !== null) {
    plateauUpdate(schedule, loop.plateau, metricValue(metrics, schedule.monitor));
  }
  return reason;
}

/** Puts the epoch's checkpoint into the best-N set when it ranks there, and reports it. */
async function keepIfBest(job: Job, hooks: TrainHooks, metrics: EpochMetrics): Promise<void> {
  const value = metricValue(metrics, job.monitor);
  if (Number.isNaN(value)) return;
  const best = job.loop.best;
  if (best === null || better(job, value, metricValue(best, job.monitor))) job.loop.best = metrics;
  const keep = job.config.checkpoints.keepBest;
  const kept = job.loop.kept;
  const worst = kept[kept.length - 1];
  if (keep === 0 || (kept.length >= keep && worst !== undefined && !better(job, value, worst.value))) return;
  // Ties rank the earlier epoch first.
  let at = kept.findIndex((k) => better(job, value, k.value));
  if (at < 0) at = kept.length;
  kept.splice(at, 0, { epoch: metrics.epoch, value });
  const evicted = kept.splice(keep).map((k) => k.epoch);
  const bytes = checkpointBytes(job.params, job.config, checkpointInfo(job, metrics), job.metadata);
  await hooks.onBest?.({
    epoch: metrics.epoch,
    step: metrics.step,
    monitor: job.monitor,
    value,
    bytes,
    kept: kept.map((k) => ({ ...k })),
    evicted,
  });
}

function better(job: Job, a: number, b: number): boolean {
  return job.direction === 'min' ? a < b : a > b;
}

/** Ends the run: drops a half-finished epoch, restores the best weights if asked, writes the final checkpoint. */
function finish(job: Job, reason: StopReason, kernels: Kernels): TrainResult {
  // Weights, step and epoch roll back together (in the first epoch: the initial weights, step 0).
  if (job.dirty) {
    loadWeights(job.lastGood, job.params);
    job.loop.step = job.epochStartStep;
  }
  const { best, last, restorable } = job.loop;
  let final = last;
  let restoredEpoch: number | null = null;
  const es = job.config.earlyStopping;
  if (es?.restoreBest && job.restorable !== null && restorable !== null && restorable.epoch !== job.loop.epoch) {
    loadWeights(job.restorable, job.params);
    final = restorable;
    restoredEpoch = final.epoch;
  }
  const info = final === null ? { ...checkpointInfo(job, null), step: job.loop.step } : checkpointInfo(job, final);
  return {
    reason,
    epochs: job.loop.epoch,
    step: job.loop.step,
    bestEpoch: best?.epoch ?? null,
    best,
    last,
    restoredEpoch,
    checkpoint: checkpointBytes(job.params, job.config, info, job.metadata),
    monitor: job.monitor,
    backend: kernels.name,
  };
}

/** Lets the caller's I/O run every YIELD_MS, then asks whether to stop. */
async function pause(job: Job, hooks: TrainHooks): Promise<StopReason | null> {
  const now = performance.now();
  if (now - job.lastYield >= YIELD_MS) {
    await new Promise<void>((resolve) => setImmediate(resolve));
    job.lastYield = performance.now();
  }
  if (hooks.shouldStop !== undefined) {
    const stop = hooks.shouldStop();
    if (stop === true || (stop !== false && (await stop))) return 'cancelled';
  }
  if (job.deadline !== null && performance.now() >= job.deadline) return 'max_runtime';
  return null;
}

/** This epoch's row order: 0…N−1, shuffled from the job's RNG unless shuffle is off. */
function orderRows(job: Job): void {
  const order = job.order;
  for (let i = 0; i < order.length; i++) order[i] = i;
  if (job.config.shuffle) shuffleInPlace(job.rng, order);
}

/** Copies mini-batch b's rows into the gather buffers; returns its row count. */
function gatherBatch(job: Job, b: number): number {
  const { train, order, X, Y, I, T } = job;
  const start = b * job.B;
  const B = Math.min(job.B, train.n - start);
  const k = job.model.kernels;
  gatherFeatures(k, train.x, I, order, start, B, X);
  if (k.gatherRows) {
    k.gatherRows(train.y, T, order, start, B, Y);
    return B;
  }
  const y = train.y;
  for (let r = 0; r < B; r++) {
    const src = order[start + r]!;
    for (let j = 0; j < T; j++) Y[r * T + j] = y[src * T + j]!;
  }
  return B;
}

/** X row r = features of row order[start + r], as floats (bytes become byte / 255 here). */
function gatherFeatures(k: Kernels, x: Float32Array | Uint8Array, I: number, order: Int32Array, start: number, B: number, X: Float32Array): void {
  if (x instanceof Uint8Array) {
    if (k.gatherByteRows) {
      k.gatherByteRows(x, I, order, start, B, X);
      return;
    }
    for (let r = 0; r < B; r++) {
      const src = order[start + r]!;
      for (let j = 0; j < I; j++) X[r * I + j] = BYTE_VALUES[x[src * I + j]!]!;
    }
    return;
  }
  if (k.gatherRows) {
    k.gatherRows(x, I, order, start, B, X);
    return;
  }
  // Element by element, so no per-row view is ever made (one per row cost 106 MB for 1M rows).
  for (let r = 0; r < B; r++) {
    const src = order[start + r]!;
    for (let j = 0; j < I; j++) X[r * I + j] = x[src * I + j]!;
  }
}

/** Rows [start, start + B) of x as floats: a view of float features, or bytes converted into `scratch`. */
function featureRows(x: Float32Array | Uint8Array, I: number, start: number, B: number, scratch: Float32Array | null): Float32Array {
  if (x instanceof Float32Array) return x.subarray(start * I, (start + B) * I);
  const out = scratch!;
  for (let i = 0, from = start * I; i < B * I; i++) out[i] = BYTE_VALUES[x[from + i]!]!;
  return out.subarray(0, B * I);
}

/** Loss (with the weight penalty, as Keras reports it) and metrics of the current weights on `ds`. */
function evaluate(job: Job, ds: Dataset, acc: MetricsAccumulator): PassMetrics {
  const { config, model, pred, I, O, T } = job;
  const chunk = model.maxBatch;
  resetMetrics(acc);
  for (let start = 0; start < ds.n; start += chunk) {
    const B = Math.min(chunk, ds.n - start);
    const X = featureRows(ds.x, I, start, B, job.evalX);
    const Y = ds.y.subarray(start * T, (start + B) * T);
    const out = modelForward(model, X, B, false, job.rng);
    const loss = lossAndOutputs(config.loss, out, Y, pred, B, O, T);
    accumulateMetrics(acc, loss, pred, Y, B, T);
  }
  const result = finishMetrics(acc);
  result.loss += regularizationPenalty(job.params, config.regularization.l1, config.regularization.l2);
  return result;
}

function epochMetrics(job: Job, trained: PassMetrics, validated: PassMetrics | null, started: number, trainedAt: number): EpochMetrics {
  const m: EpochMetrics = { epoch: job.loop.epoch, step: job.loop.step, loss: trained.loss } as EpochMetrics;
  if (job.task === 'classification') {
    m.accuracy = trained.accuracy!;
  } else {
    m.mae = trained.mae!;
    m.rmse = trained.rmse!;
    m.r2 = trained.r2!;
  }
  if (validated !== null) {
    m.val_loss = validated.loss;
    if (job.task === 'classification') {
      m.val_accuracy = validated.accuracy!;
    } else {
      m.val_mae = validated.mae!;
      m.val_rmse = validated.rmse!;
      m.val_r2 = validated.r2!;
    }
  }
  const seconds = (performance.now() - started) / 1000;
  const trainSeconds = (trainedAt - started) / 1000;
  m.lr = job.lr;
  m.seconds = seconds;
  m.samplesPerSec = trainSeconds > 0 ? job.trainMetrics.samples / trainSeconds : 0;
  return m;
}

function metricValue(m: EpochMetrics, name: string): number {
  const v = (m as unknown as Record<string, number | undefined>)[name];
  return v ?? NaN;
}

function allFinite(params: Param[]): boolean {
  for (const p of params) {
    for (let i = 0; i < p.data.length; i++) if (!Number.isFinite(p.data[i]!)) return false;
  }
  return true;
}

function saveWeights(params: readonly Param[], into: Float32Array[]): void {
  params.forEach((p, k) => into[k]!.set(p.data));
}

function loadWeights(from: Float32Array[], params: readonly Param[]): void {
  params.forEach((p, k) => p.data.set(from[k]!));
}

function checkpointInfo(job: Job, metrics: EpochMetrics | null): CheckpointInfo {
  return {
    epoch: metrics?.epoch ?? 0,
    step: metrics?.step ?? 0,
    metrics,
    inputWidth: job.I,
    normalization: job.normalization,
  };
}

function resumeBytes(job: Job): Uint8Array {
  const state: LoopState = { ...job.loop, rng: rngState(job.rng) };
  const restorable = job.restorable;
  return encodeResumeState(job.config, state, {
    weights: weightTensors(job.params),
    optimizer: optimizerStateTensors(job.optimizer),
    bestWeights: restorable === null ? null : job.params.map((p, k) => ({ name: p.name, shape: p.shape, data: restorable[k]! })),
    normalization: job.normalization,
  });
}

function checkLabels(ds: Dataset, O: number, path: string): void {
  for (let i = 0; i < ds.n; i++) {
    const c = ds.y[i]!;
    if (!Number.isInteger(c) || c < 0 || c >= O) {
      throw new CoreError(path, `class label at row ${i} must be an integer in [0, ${O}), got ${c}`);
    }
  }
}

function checkData(config: TrainConfig, data: { train: Dataset; validation: Dataset | null }): void {
  const { train, validation } = data;
  if (train.n < 1) throw new CoreError('dataset', 'the training set has no rows');
  if (train.x.length !== train.n * train.features || train.y.length !== train.n * train.targetWidth) {
    throw new CoreError('dataset', `the training arrays do not hold ${train.n} rows of ${train.features} features and ${train.targetWidth} targets`);
  }
  if (validation !== null) {
    if (validation.features !== train.features || validation.targetWidth !== train.targetWidth) {
      throw new CoreError('validation', `validation rows have ${validation.features} features and ${validation.targetWidth} targets, training rows ${train.features} and ${train.targetWidth}`);
    }
    if (validation.n < 1 || validation.x.length !== validation.n * validation.features || validation.y.length !== validation.n * validation.targetWidth) {
      throw new CoreError('validation', `the validation arrays do not hold ${validation.n} rows (at least 1)`);
    }
  }
  const last = config.layers[config.layers.length - 1];
  if (config.loss.type === 'softmax_cross_entropy' && train.targetWidth === 1 && last?.type === 'dense') {
    checkLabels(train, last.units, 'dataset');
    if (validation !== null) checkLabels(validation, last.units, 'validation');
  }
}

function normalized(ds: Dataset, s: Standardization | null): Dataset {
  if (s === null) return ds;
  // Bytes are converted once and standardized in that copy; float features keep their array.
  const raw = featureFloats(ds.x);
  const x = raw === ds.x ? new Float32Array(raw.length) : raw;
  standardize(raw, ds.n, ds.features, s, x);
  return { ...ds, x };
}

/** Validates, builds the model, optimizer and every buffer, and restores a resume state if given. */
function prepareJob(config: TrainConfig, data: { train: Dataset; validation: Dataset | null }, kernels: Kernels, options: TrainOptions): Job {
  const { train: rawTrain, validation: rawValidation } = data;
  validateConfig(config, rawTrain.features, rawTrain.targetWidth, { rows: rawTrain.n, hasValidation: rawValidation !== null });
  checkData(config, data);
  const N = rawTrain.n;
  const B = config.batchSize === 'full' ? N : Math.min(config.batchSize, N);
  const batches = config.dropLast ? Math.floor(N / B) : Math.ceil(N / B);
  const maxBatch = Math.max(B, Math.min(EVAL_CHUNK, rawValidation?.n ?? 0));

  const rng = createRng(config.seed);
  const model = createModel(config.layers, rawTrain.features, config.loss, rng, kernels, maxBatch);
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
  const O = model.outputWidth;
  const T = rawTrain.targetWidth;
  const es = config.earlyStopping;
  const monitor = config.checkpoints.monitor ?? es?.monitor ?? (rawValidation !== null ? 'val_loss' : 'loss');
  const mode = config.checkpoints.monitor !== null ? config.checkpoints.mode : (es?.mode ?? config.checkpoints.mode);
  const yMean = task === 'regression' ? columnMeans(rawTrain.y, N, T) : new Float64Array(O);
  const valMean = task === 'regression' && rawValidation !== null ? columnMeans(rawValidation.y, rawValidation.n, T) : new Float64Array(O);
  const schedule = config.learningRate;

  const job: Job = {
    config,
    metadata: options.metadata ?? {},
    task,
    train: normalized(rawTrain, normalization),
    validation: rawValidation === null ? null : normalized(rawValidation, normalization),
    normalization,
    I: rawTrain.features,
    O,
    T,
    B,
    batches,
    model,
    params: model.params,
    optimizer: createOptimizerState(config.optimizer, model.params),
    rng,
    order: new Int32Array(N),
    X: new Float32Array(B * rawTrain.features),
    Y: new Float32Array(B * T),
    pred: new Float32Array(maxBatch * O),
    dOut: new Float32Array(B * O),
    evalX: rawValidation !== null && rawValidation.x instanceof Uint8Array && config.normalize !== 'standard' ? new Float32Array(maxBatch * rawTrain.features) : null,
    trainMetrics: createMetrics(config.loss, O, yMean),
    valMetrics: rawValidation === null ? null : createMetrics(config.loss, O, valMean),
    monitor,
    direction: resolveMode(monitor, mode),
    lastGood: model.params.map((p) => Float32Array.from(p.data)),
    restorable: null,
    loop: {
      epoch: 0,
      step: 0,
      rng: [],
      plateau: schedule.schedule === 'reduce_on_plateau' ? createPlateauState(schedule) : null,
      earlyStopping: es === null ? null : createEarlyStopping(es),
      convergence: config.convergence === null ? null : { best: null, wait: 0 },
      kept: [],
      best: null,
      last: null,
      restorable: null,
      stopped: null,
    },
    dirty: false,
    epochStartStep: 0,
    lr: learningRateAt(schedule, 0, 0, null),
    deadline: config.maxRuntimeSeconds === null ? null : performance.now() + config.maxRuntimeSeconds * 1000,
    lastYield: performance.now(),
  };
  if (resumed !== null) restore(job, resumed.state, resumed.tensors);
  return job;
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

function restore(job: Job, state: LoopState, tensors: Map<string, { shape: number[]; data: Float32Array }>): void {
  const take = (name: string, into: Float32Array, shape: number[]): void => {
    const t = tensors.get(name);
    if (t === undefined || t.shape.join(',') !== shape.join(',')) {
      throw new CoreError('resume', `resume state lacks tensor ${name} of shape [${shape.join(', ')}]`);
    }
    into.set(t.data);
  };
  for (const p of job.params) take(p.name, p.data, p.shape);
  saveWeights(job.params, job.lastGood);
  if (state.restorable !== null) {
    job.restorable = job.params.map((p) => new Float32Array(p.data.length));
    job.params.forEach((p, k) => take(`best.${p.name}`, job.restorable![k]!, p.shape));
  }
  job.optimizer = restoreOptimizerState(job.config.optimizer, job.params, tensors);
  job.rng = restoreRng(state.rng);
  job.loop = state;
  if (state.last !== null) job.lr = state.last.lr;
}
